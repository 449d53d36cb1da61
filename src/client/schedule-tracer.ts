import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { carrierSetter } from '../shared/tracing/carrier.js';

/** A producer's span of one schedule, and the trace context the task carries. */
export interface ScheduleSpan {
  readonly traceContext: Record<string, string>;
  end(error?: Error): void;
}

/**
 * A `drover.schedule` span (kind PRODUCER) per scheduled task, a child of whatever span is
 * active where schedule() is called; its W3C context goes in the task's trace_context, so
 * the leader's spans and the worker's run (and the handler's own spans) join the trace.
 */
export class ScheduleTracer {
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(private readonly tracer: Tracer) {}

  begin(kind: string | undefined): ScheduleSpan {
    const parent = context.active();
    const span: Span = this.tracer.startSpan(
      'drover.schedule',
      { kind: SpanKind.PRODUCER, attributes: { 'drover.task.kind': kind || 'default' } },
      parent,
    );
    const traceContext: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(parent, span), traceContext, carrierSetter);
    return {
      traceContext,
      end: (error) => {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        span.end();
      },
    };
  }
}
