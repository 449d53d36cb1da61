import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { carrierGetter, carrierSetter, type Carrier } from '../../shared/tracing/carrier.js';
import type { CompletionReport, StartOrder } from '../../scheduler/scheduler.js';
import type { TaskRecord } from '../../scheduler/task.js';
import { errorMessage } from '../../shared/errors.js';
import type { NewTaskInput } from '../views.js';

/** A W3C trace context as text: keys `traceparent` and, if any, `tracestate`. */
export type TraceCarrier = Carrier;

/** What the tracer keeps of a traced task while it is open. */
interface TaskTrace {
  /** The leader's schedule span: the parent of every later span of the task. */
  readonly scheduled: Context;
  /** Since when the task waits to start (created, due, or back in the queue). */
  readyAtMs: number;
  /** Each open attempt's assignment span, the parent of its completion span. */
  readonly attempts: Map<number, Context>;
}

/** The schedule spans of one schedule call, closed with what came of it. */
export interface ScheduleSpans {
  /** The tasks are saved (`existing`: answered by a held idempotency key, nothing new). */
  saved(tasks: readonly TaskRecord[], existing: readonly boolean[]): void;
  /** The schedule was refused or its commit failed. */
  failed(error: unknown): void;
}

/**
 * The leader's spans of a task, in the OpenTelemetry names of the issue: `drover.schedule`
 * (from the call to the commit, a child of the caller's span when it sent a trace
 * context), `drover.queue_wait` (ready until assigned), `drover.assign` (whose context
 * goes down the heartbeat stream, so the worker's run span is its child) and
 * `drover.complete` (the report until it is saved). Everything a task's spans need lives
 * in a WeakMap beside its record: nothing is stored, and a pruned task takes it along.
 */
export class TaskTracer {
  private readonly traces = new WeakMap<TaskRecord, TaskTrace>();
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(private readonly tracer: Tracer) {}

  /** Opens a schedule span per spec: call before the scheduler sees them. */
  startSchedule(specs: readonly NewTaskInput[]): ScheduleSpans {
    const spans = specs.map((spec) =>
      this.tracer.startSpan(
        'drover.schedule',
        { kind: SpanKind.SERVER, attributes: { 'drover.task.kind': spec.kind || 'default' } },
        spec.traceContext === undefined ? ROOT_CONTEXT : this.extract(spec.traceContext),
      ),
    );
    return {
      saved: (tasks, existing) => {
        spans.forEach((span, i) => {
          const task = tasks[i]!;
          span.setAttribute('drover.task.id', task.id);
          if (existing[i]) {
            span.setAttribute('drover.task.existing', true);
          } else {
            const scheduled = trace.setSpan(ROOT_CONTEXT, span);
            task.traceContext = this.inject(scheduled);
            const readyAtMs = Math.max(task.createdAtMs, task.runAtMs ?? 0);
            this.traces.set(task, { scheduled, readyAtMs, attempts: new Map() });
          }
          span.end();
        });
      },
      failed: (error) => {
        for (const span of spans) failSpan(span, error);
      },
    };
  }

  /**
   * An attempt is on its way to a worker: closes its queue wait, opens and closes its
   * assignment span, and returns the context the worker's run span joins (undefined for
   * a task not traced, such as one loaded at start).
   */
  assigned(task: TaskRecord, order: StartOrder, nowMs: number): TraceCarrier | undefined {
    const traced = this.traces.get(task);
    if (traced === undefined) return undefined;
    const attributes = {
      'drover.task.id': order.taskId,
      'drover.task.kind': order.kind,
      'drover.task.attempt': order.attempt,
      'drover.member.id': order.memberId,
    };
    this.tracer
      .startSpan('drover.queue_wait', { attributes, startTime: traced.readyAtMs }, traced.scheduled)
      .end(Math.max(nowMs, traced.readyAtMs));
    const span = this.tracer.startSpan(
      'drover.assign',
      { kind: SpanKind.PRODUCER, attributes },
      traced.scheduled,
    );
    span.end();
    const assigned = trace.setSpan(ROOT_CONTEXT, span);
    traced.attempts.set(order.attempt, assigned);
    // Should this attempt be put back (its worker died), the next one waits from now.
    traced.readyAtMs = nowMs;
    return this.inject(assigned);
  }

  /** A worker's report was saved: the completion span, from its arrival to now. */
  completed(task: TaskRecord, report: CompletionReport, receivedAtMs: number): void {
    const traced = this.traces.get(task);
    if (traced === undefined) return;
    const attempt = report.attempt === 0 ? task.attempt : report.attempt;
    const parent = traced.attempts.get(attempt) ?? traced.scheduled;
    traced.attempts.delete(attempt);
    const span = this.tracer.startSpan(
      'drover.complete',
      {
        kind: SpanKind.SERVER,
        startTime: receivedAtMs,
        attributes: {
          'drover.task.id': task.id,
          'drover.task.attempt': attempt,
          'drover.task.status': task.status,
          ...(report.memberId === undefined ? {} : { 'drover.member.id': report.memberId }),
        },
      },
      parent,
    );
    if (report.error !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: report.error });
    }
    span.end();
    if (task.status === 'pending') traced.readyAtMs = Math.max(receivedAtMs, task.retryAtMs ?? 0);
  }

  private extract(carrier: TraceCarrier): Context {
    return this.propagator.extract(ROOT_CONTEXT, carrier, carrierGetter);
  }

  private inject(context: Context): TraceCarrier {
    const carrier: Record<string, string> = {};
    this.propagator.inject(context, carrier, carrierSetter);
    return carrier;
  }
}

function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
  span.end();
}
