import { describe, expect, it } from 'vitest';
import type { OutputEvent } from '../../../src/leader/cluster-events.js';
import { OutputFeed, type OutputInput } from '../../../src/leader/output-feed.js';
import { NotFoundError } from '../../../src/shared/errors.js';
import { asMemberId, asTaskId, type TaskId } from '../../../src/shared/ids.js';
import { nextTurn } from '../../helpers/manual-timers.js';
import { leaderParts } from './leader-parts.js';

const a = asMemberId('a');
const b = asMemberId('b');

/** Task t runs on a (attempt 1); worker b is alive and idle. */
async function setup() {
  const parts = leaderParts();
  const feed = new OutputFeed({
    getTask: (id) => parts.scheduler.get(id),
    ...{ output: parts.output, events: parts.events, commits: parts.commits },
  });
  const wa = parts.worker('a');
  const [task] = await parts.enqueue({});
  await parts.timers.settle();
  const wb = parts.worker('b');
  await parts.timers.settle();
  const chunk = (data: string, attempt = 1, taskId: TaskId = task!.id): OutputInput => ({
    ...{ taskId, attempt, data },
    stream: 'stdout',
  });
  const followed: OutputEvent[] = [];
  const follow = () => feed.read(task!.id, 0, (event) => followed.push(event));
  const text = () =>
    parts.output
      .read(task!.id, 0)
      .map((c) => c.data)
      .join('');
  return { ...parts, feed, task: task!, wa, wb, chunk, followed, follow, text };
}

describe('OutputFeed.append', () => {
  it("keeps, emits and saves the current attempt's output from the member running it", async () => {
    const { feed, task, chunk, followed, follow, text, store } = await setup();
    follow();
    feed.append(a, [chunk('hello '), chunk('world')]);
    expect(text()).toBe('hello world');
    expect(followed.map((e) => e.kind === 'chunk' && e.chunk.data)).toEqual(['hello ', 'world']);
    await nextTurn();
    const saved = await store.loadOutput();
    expect(saved.map((s) => [s.taskSeq, s.chunk.offset, s.chunk.data])).toEqual([
      [task.seq, 0, 'hello '],
      [task.seq, 6, 'world'],
    ]);
    expect(store.count('saveOutput')).toBe(1);
  });

  it("drops a stale attempt's output and another member's, keeping the current one", async () => {
    const { feed, members, timers, task, chunk, followed, follow, text, store } = await setup();
    members.leave(a); // requeued; b takes it as attempt 2
    await timers.settle();
    follow();
    feed.append(a, [chunk('old attempt', 1)]);
    feed.append(b, [chunk('wrong attempt', 1)]);
    feed.append(a, [chunk('wrong member', 2)]);
    expect(text()).toBe('');
    expect(followed).toEqual([]);
    expect(store.count('saveOutput')).toBe(0);
    feed.append(b, [chunk('current', 2), chunk('stale', 1)]);
    expect(text()).toBe('current');
    expect(task.attempt).toBe(2);
  });

  it('keeps a numbered piece sent again once: only what it does not hold yet', async () => {
    const { feed, chunk, text, store } = await setup();
    const at = (data: string, offset: number) => ({ ...chunk(data), offset });
    await feed.append(a, [at('hello ', 0), at('wor', 6)]);
    // A new stream sends again what the last one sent, and more; a piece may overlap.
    await feed.append(a, [at('hello ', 0), at('wor', 6), at('world!', 6), at('?', 12)]);
    expect(text()).toBe('hello world!?');
    const saved = await store.loadOutput();
    expect(saved.map((s) => s.chunk.data).join('')).toBe('hello world!?');
    // A piece past the count (output lost between) is kept whole; unnumbered ones always.
    await feed.append(a, [at('later', 20), chunk('plain'), chunk('plain')]);
    expect(text()).toBe('hello world!?laterplainplain');
  });

  it('keeps output of an attempt whose stream broke, sent before the attempt is re-attached', async () => {
    const { feed, members, wa, task, chunk, text } = await setup();
    members.closeStream(a, wa.streamId, 'connection reset'); // pending again, attempt kept
    expect([task.status, task.memberId, task.attemptEnded]).toEqual(['pending', a, false]);
    await feed.append(a, [{ ...chunk('written while away'), offset: 0 }]);
    expect(text()).toBe('written while away');
  });

  it('keeps a piece past a gap once, however often it comes again', async () => {
    const { feed, chunk, text } = await setup();
    const at = (data: string, offset: number) => ({ ...chunk(data), offset });
    await feed.append(a, [at('one ', 0), at('three', 8)]); // 'two ' (4-8) never came
    await feed.append(a, [at('three', 8)]);
    await feed.append(a, [at('three', 8), at('!', 13)]);
    expect(text()).toBe('one three!');
  });

  it('resolves once what it kept is saved, and with nothing kept once earlier writes landed', async () => {
    const { feed, chunk, store } = await setup();
    let saved = false;
    void feed.append(a, [chunk('x')]).then(() => (saved = true));
    expect(saved).toBe(false);
    await feed.append(b, [chunk('not b’s')]); // dropped, so it waits for the write before
    expect(saved).toBe(true);
    expect((await store.loadOutput()).map((s) => s.chunk.data)).toEqual(['x']);
  });

  it('drops output for an unknown task or one not running, without throwing', async () => {
    const { feed, commands, task, chunk, text, store } = await setup();
    feed.append(a, [chunk('x', 1, asTaskId('nope'))]);
    await commands.cancel(task.id);
    feed.append(a, [chunk('after cancel')]);
    expect(text()).toBe('');
    expect(store.count('saveOutput')).toBe(0);
  });
});

describe('OutputFeed.read', () => {
  it('reads from an offset and follows a running task until it ends', async () => {
    const { feed, commands, task, chunk, followed } = await setup();
    feed.append(a, [chunk('abcdef')]);
    const { chunks, done } = feed.read(task.id, 2, (event) => followed.push(event));
    expect(done).toBe(false);
    expect(chunks.map((c) => [c.offset, c.data])).toEqual([[2, 'cdef']]);
    feed.append(a, [chunk('gh')]);
    await commands.complete({ taskId: task.id, attempt: 1, memberId: a });
    expect(followed.map((e) => e.kind)).toEqual(['chunk', 'end']);
  });

  it('does not subscribe to a finished task: it says done and follows nothing', async () => {
    const { feed, events, commands, task, chunk, followed } = await setup();
    feed.append(a, [chunk('all of it')]);
    await commands.complete({ taskId: task.id, attempt: 1, memberId: a });
    const read = feed.read(task.id, 0, (event) => followed.push(event));
    expect(read.done).toBe(true);
    expect(read.chunks.map((c) => c.data)).toEqual(['all of it']);
    events.emitOutput(task.id, { kind: 'end' });
    expect(followed).toEqual([]);
  });

  it('stops following once unsubscribed', async () => {
    const { feed, task, chunk, followed } = await setup();
    const { unsubscribe } = feed.read(task.id, 0, (event) => followed.push(event));
    unsubscribe();
    feed.append(a, [chunk('unseen')]);
    expect(followed).toEqual([]);
  });

  it('throws NotFoundError for an unknown task', async () => {
    const { feed } = await setup();
    expect(() => feed.read(asTaskId('nope'), 0, () => {})).toThrow(NotFoundError);
  });
});
