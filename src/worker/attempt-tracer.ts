import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { carrierGetter, type Carrier } from '../shared/tracing/carrier.js';

/** The run span of one attempt. */
export interface AttemptSpan {
  /** Calls the handler with the run span active, so spans it opens are its children. */
  run<T>(call: () => T): T;
  /** Ends the span: `error` undefined means the handler returned. */
  end(error: string | undefined): void;
}

/**
 * Opens a `drover.run` span per attempt, a child of the leader's `drover.assign` span for
 * it (W3C trace context down the heartbeat stream), and runs the handler inside it: a
 * user's own spans, opened with the @opentelemetry/api in the handler, join the task's
 * trace. Needs a registered context manager for that (the OpenTelemetry Node SDK, or the
 * one `drover worker` registers when the OTEL_* variables turn tracing on).
 */
export class AttemptTracer {
  // W3C whatever propagator the process registered: that is what the leader sends.
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(private readonly tracer: Tracer) {}

  begin(work: {
    readonly id: string;
    readonly attempt: number;
    readonly kind: string;
    readonly traceContext?: Carrier | undefined;
  }): AttemptSpan {
    const parent: Context =
      work.traceContext === undefined || work.traceContext['traceparent'] === undefined
        ? ROOT_CONTEXT
        : this.propagator.extract(ROOT_CONTEXT, work.traceContext, carrierGetter);
    const span = this.tracer.startSpan(
      'drover.run',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'drover.task.id': work.id,
          'drover.task.kind': work.kind,
          'drover.task.attempt': work.attempt,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    return {
      run: (call) => context.with(active, call),
      end: (error) => {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end();
      },
    };
  }
}
