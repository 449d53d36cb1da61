import { describe, expect, it } from 'vitest';
import type { ScheduleTaskStreamRequest } from '../../../src/gen/scheduler/v1/scheduler.js';
import { PRODUCER_BATCH_TASKS, RequestBatcher } from '../../../src/client/request-batcher.js';
import { taskDraft } from '../../../src/client/task-draft.js';

/** A batcher whose turn ends when the test says (`endTurn`), writing into `sent`. */
function setup() {
  const sent: ScheduleTaskStreamRequest[] = [];
  const deferred: (() => void)[] = [];
  const batcher = new RequestBatcher({
    write: (message) => sent.push(message),
    defer: (fn) => deferred.push(fn),
  });
  const endTurn = () => deferred.splice(0).forEach((fn) => fn());
  const request = (n: number): ScheduleTaskStreamRequest => ({
    requestId: n,
    task: taskDraft({ id: `t${n}`, payload: 'p' }),
    more: [],
  });
  /** Request ids of each message sent: its own, then its `more`. */
  const shape = () => sent.map((m) => [m.requestId, ...m.more.map((r) => r.requestId)]);
  return { batcher, endTurn, request, shape };
}

describe('RequestBatcher', () => {
  it('writes each request at once until batching is on, then a turn as one message', () => {
    const { batcher, endTurn, request, shape } = setup();
    batcher.add(request(1));
    batcher.add(request(2));
    expect(shape()).toEqual([[1], [2]]);
    batcher.enableBatches();
    batcher.add(request(3));
    batcher.add(request(4));
    batcher.add(request(5));
    expect(shape()).toEqual([[1], [2]]); // nothing before the turn ends
    endTurn();
    expect(shape()).toEqual([[1], [2], [3, 4, 5]]);
    // A lone request is its own message, with no `more`.
    batcher.add(request(6));
    endTurn();
    expect(shape()).toEqual([[1], [2], [3, 4, 5], [6]]);
  });

  it(`puts at most ${PRODUCER_BATCH_TASKS} tasks in a message, in order`, () => {
    const { batcher, endTurn, request, shape } = setup();
    batcher.enableBatches();
    for (let n = 1; n <= PRODUCER_BATCH_TASKS + 2; n++) batcher.add(request(n));
    endTurn();
    expect(shape().map((ids) => ids.length)).toEqual([PRODUCER_BATCH_TASKS, 2]);
    expect(shape().flat()).toEqual(
      Array.from({ length: PRODUCER_BATCH_TASKS + 2 }, (_, i) => i + 1),
    );
  });

  it('flushes on demand; once stopped it drops what is queued and refuses more', () => {
    const { batcher, endTurn, request, shape } = setup();
    batcher.enableBatches();
    batcher.add(request(1));
    batcher.flush();
    expect(shape()).toEqual([[1]]);
    batcher.add(request(2));
    batcher.stop();
    endTurn();
    expect(shape()).toEqual([[1]]);
    expect(() => batcher.add(request(3))).toThrow('has ended');
  });
});
