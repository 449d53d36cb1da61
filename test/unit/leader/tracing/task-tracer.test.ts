import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { MemberId, TaskId } from '../../../../src/shared/ids.js';
import { TaskTracer } from '../../../../src/leader/tracing/task-tracer.js';
import { traceCarrierFrom, withCallTrace } from '../../../../src/leader/tracing/trace-carrier.js';
import { taskRecord } from '../../../helpers/task-record.js';

// The leader's task spans with the SDK's in-memory exporter: names, parents, and the
// queue wait measured from when the task was ready (given times, no clock read).

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = new TaskTracer(provider.getTracer('test'));
  const named = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.name === name);
  return { tracer, named };
}

const ms = (span: ReadableSpan, which: 'startTime' | 'endTime') =>
  span[which][0] * 1000 + span[which][1] / 1e6;

const order = (attempt: number) => ({
  memberId: 'w1' as MemberId,
  taskId: 't1' as TaskId,
  attempt,
  kind: 'default',
  payload: 'p',
  concurrencyKey: undefined,
  priority: 'medium' as const,
});

describe('TaskTracer', () => {
  it('makes the schedule span a child of the caller, and every later span its child', () => {
    const { tracer, named } = setup();
    const spans = tracer.startSchedule([
      { payload: 'p', traceContext: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } },
    ]);
    const task = taskRecord({ createdAtMs: 1_000_000 });
    spans.saved([task], [false]);
    const [schedule] = named('drover.schedule');
    expect(schedule!.spanContext().traceId).toBe(CALLER_TRACE);
    expect(schedule!.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(schedule!.kind).toBe(SpanKind.SERVER);
    expect(schedule!.attributes['drover.task.id']).toBe('t1');
    expect(task.traceContext?.['traceparent']).toBe(
      `00-${CALLER_TRACE}-${schedule!.spanContext().spanId}-01`,
    );

    const carrier = tracer.assigned(task, order(1), 1_000_250);
    const [wait] = named('drover.queue_wait');
    const [assign] = named('drover.assign');
    expect(wait!.parentSpanContext?.spanId).toBe(schedule!.spanContext().spanId);
    expect(ms(wait!, 'startTime')).toBe(1_000_000);
    expect(ms(wait!, 'endTime')).toBe(1_000_250);
    expect(assign!.attributes).toMatchObject({
      'drover.member.id': 'w1',
      'drover.task.attempt': 1,
    });
    expect(carrier?.['traceparent']).toBe(`00-${CALLER_TRACE}-${assign!.spanContext().spanId}-01`);

    // A failed attempt retried later: the completion span hangs under that attempt's
    // assignment, and the next queue wait starts at the retry time.
    task.status = 'pending';
    task.retryAtMs = 1_005_000;
    tracer.completed(task, { taskId: task.id, attempt: 1, error: 'boom' }, 1_000_400);
    const [complete] = named('drover.complete');
    expect(complete!.parentSpanContext?.spanId).toBe(assign!.spanContext().spanId);
    expect(complete!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    tracer.assigned(task, order(2), 1_005_010);
    expect(ms(named('drover.queue_wait')[1]!, 'startTime')).toBe(1_005_000);
  });

  it('starts a new trace for a caller without one, and traces nothing for a task it never saw', () => {
    const { tracer, named } = setup();
    tracer.startSchedule([{ payload: 'p' }]).saved([taskRecord()], [false]);
    expect(named('drover.schedule')[0]!.parentSpanContext).toBeUndefined();
    // A task loaded from the store at start: no spans, no context for its worker.
    expect(tracer.assigned(taskRecord({ seq: 2 }), order(1), 5)).toBeUndefined();
    expect(named('drover.assign')).toHaveLength(0);
  });

  it('ends the schedule spans of a refused schedule with its error; a held idempotency key is marked', () => {
    const { tracer, named } = setup();
    tracer.startSchedule([{ payload: 'p' }]).failed(new Error('payload too large'));
    expect(named('drover.schedule')[0]!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'payload too large',
    });
    const held = taskRecord({ seq: 3 });
    tracer.startSchedule([{ payload: 'p' }]).saved([held], [true]);
    expect(named('drover.schedule')[1]!.attributes['drover.task.existing']).toBe(true);
    expect(held.traceContext).toBeUndefined();
  });
});

describe('trace carriers from callers', () => {
  it('keeps only a bounded traceparent and tracestate', () => {
    const carrier = { traceparent: '00-a-b-01', tracestate: 'k=v', other: 'x' } as Record<
      string,
      string
    >;
    expect(traceCarrierFrom((key) => carrier[key])).toEqual({
      traceparent: '00-a-b-01',
      tracestate: 'k=v',
    });
    expect(traceCarrierFrom(() => 'x'.repeat(513))).toBeUndefined();
    expect(traceCarrierFrom(() => undefined)).toBeUndefined();
  });

  it("uses the call's metadata only for a task without its own context", () => {
    const metadata = { get: (key: string) => (key === 'traceparent' ? ['00-m-m-01'] : []) };
    const bare: { payload: string; traceContext?: Record<string, string> } = { payload: 'p' };
    expect(withCallTrace(bare, metadata).traceContext).toEqual({
      traceparent: '00-m-m-01',
    });
    const own = { payload: 'p', traceContext: { traceparent: '00-t-t-01' } };
    expect(withCallTrace(own, metadata)).toBe(own);
  });
});
