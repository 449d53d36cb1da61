import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { StartOrder } from '../../../src/scheduler/scheduler-types.js';
import { attemptsInSeries } from '../../../src/scheduler/task.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;
const LEAD_MS = 100;

/**
 * A scheduler with timed starts (lead 100 ms) and one worker `w` of `slots` slots that
 * honours start times (or not, with `timed: false`). Times are relative to the fake clock's
 * start; `runAt(ms)` is that far ahead of it.
 */
function setup({ slots = 1, timed = true }: { slots?: number; timed?: boolean } = {}) {
  const clock = new FakeClock();
  const t0 = clock.nowMs();
  const scheduler = new Scheduler({
    maxPayloadBytes: 64,
    prefetch: { maxTasks: 8, shortAttemptMs: 50 },
    timedStartLeadMs: LEAD_MS,
  });
  const join = (id: string, n: number, honours: boolean, kinds = ['default']) => {
    scheduler.upsertWorker(m(id), n, new Set(kinds), { timedStarts: honours });
    scheduler.setEligible(m(id), true);
  };
  join('w', slots, timed);
  const at = (ms: number) => t0 + ms;
  const delayed = (
    id: string,
    runAtMs: number,
    more: { concurrencyKey?: string; kind?: string; targetMemberId?: string } = {},
  ) => scheduler.schedule(clock.nowMs(), { id, payload: 'p', runAtMs: at(runAtMs), ...more });
  /** Moves the clock to `ms`, runs the due timer's work and a round; returns the starts. */
  const tick = (ms: number) => {
    clock.advance(at(ms) - clock.nowMs());
    scheduler.promoteDue(clock.nowMs());
    return scheduler.assign(clock.nowMs()).starts;
  };
  return { clock, scheduler, join, at, delayed, tick };
}

describe('Scheduler: timed starts', () => {
  it('hands a delayed task out a lead before its run time, to start then; on a worker of short tasks it takes a slot only from then', () => {
    const { scheduler, at, delayed, tick } = setup();
    // w's recent tasks are short (3 ms): it may hold timed starts without a slot each.
    scheduler.schedule(at(0), { id: 'short', payload: 'p' });
    scheduler.assign(at(0));
    scheduler.complete(at(3), { taskId: t('short'), attempt: 1, memberId: m('w') });
    delayed('d1', 1_000);
    // The due timer's first time is the start of the lead, not the run time.
    expect(scheduler.nextDueAtMs()).toBe(at(1_000 - LEAD_MS));
    expect(tick(899)).toEqual([]);
    const [start, ...more] = tick(900);
    expect(more).toEqual([]);
    expect(start).toMatchObject({ taskId: 'd1', memberId: 'w', attempt: 1, startAtMs: at(1_000) });
    const task = scheduler.get(t('d1'));
    expect(task.status).toBe('running');
    // Its attempt starts (and its timeout runs) at its run time, not at the hand-off.
    expect(task.startedAtMs).toBe(at(1_000));
    // Until then w's one slot is free for other work...
    scheduler.schedule(at(900), { id: 'now', payload: 'p' });
    expect(scheduler.assign(at(900)).starts.map((s) => s.taskId)).toEqual(['now']);
    scheduler.complete(at(950), { taskId: t('now'), attempt: 1, memberId: m('w') });
    // ...and from the run time d1 holds it: nothing else starts there.
    expect(scheduler.nextDueAtMs()).toBe(at(1_000));
    tick(1_000);
    scheduler.schedule(at(1_000), { id: 'after', payload: 'p' });
    expect(scheduler.assign(at(1_000)).starts.map((s) => [s.taskId, s.ahead ?? false])).toEqual([
      ['after', true],
    ]);
  });

  it('on a worker whose tasks are not known to be short, a timed start takes a free slot from the hand-off', () => {
    // Two idle workers of one slot, no history: the delayed task reserves w's slot, so a
    // long task scheduled meanwhile goes to v, not in front of the delayed one on w.
    const { scheduler, at, delayed, tick, join } = setup();
    join('v', 1, true);
    delayed('d1', 1_000);
    expect(tick(900).map((s) => [s.taskId, s.memberId])).toEqual([['d1', 'w']]);
    scheduler.schedule(at(950), { id: 'long', payload: 'p' });
    expect(scheduler.assign(at(950)).starts.map((s) => [s.taskId, s.memberId])).toEqual([
      ['long', 'v'],
    ]);
    // w has no free slot for anything else, timed or not.
    delayed('d2', 1_020);
    expect(tick(960)).toEqual([]);
  });

  it('hands nothing ahead to a worker that did not say it honours start times: it starts when due', () => {
    const { scheduler, delayed, tick } = setup({ timed: false });
    delayed('d1', 1_000);
    expect(tick(900)).toEqual([]);
    expect(scheduler.get(t('d1')).status).toBe('scheduled');
    const [start] = tick(1_000);
    expect(start).toMatchObject({ taskId: 'd1', memberId: 'w' });
    expect(start!.startAtMs).toBeUndefined();
  });

  it('keeps keyed tasks, paused kinds and tasks nobody here may run for their run time', () => {
    const { scheduler, delayed, tick, join } = setup({ slots: 4 });
    delayed('keyed', 1_000, { concurrencyKey: 'k' });
    delayed('paused', 1_000, { kind: 'resize' });
    delayed('elsewhere', 1_000, { targetMemberId: 'gpu-1' });
    delayed('other-kind', 1_000, { kind: 'mail' });
    join('r', 1, true, ['resize']);
    scheduler.pauseKind('resize');
    expect(tick(950)).toEqual([]);
    for (const id of ['keyed', 'paused', 'elsewhere', 'other-kind']) {
      expect(scheduler.get(t(id)).status).toBe('scheduled');
    }
    // Due: the keyed one starts the usual way; the rest wait as any pending task would.
    expect(tick(1_000).map((s) => [s.taskId, s.startAtMs])).toEqual([['keyed', undefined]]);
  });

  it('goes to the worker the task targets, round-robin otherwise; with no short attempts seen, into free slots only', () => {
    const { scheduler, delayed, tick, join } = setup({ slots: 2 });
    join('v', 2, true);
    delayed('for-v', 1_000, { targetMemberId: 'v' });
    for (let i = 1; i <= 4; i++) delayed(`d${i}`, 1_000 + i);
    expect(tick(905).map((s) => [s.taskId, s.memberId])).toEqual([
      ['for-v', 'v'],
      ['d1', 'w'],
      ['d2', 'v'],
      ['d3', 'w'],
    ]);
    // Neither has shown its tasks are short: each holds no more than its slots.
    expect(scheduler.get(t('d4')).status).toBe('scheduled');
  });

  it('a worker whose attempts are short may hold many timed starts, not only its free slots', () => {
    const { scheduler, at, delayed, tick } = setup({ slots: 1 });
    scheduler.schedule(at(0), { id: 'short', payload: 'p' });
    scheduler.assign(at(0));
    scheduler.complete(at(3), { taskId: t('short'), attempt: 1, memberId: m('w') });
    for (let i = 1; i <= 10; i++) delayed(`d${i}`, 1_000 + i);
    expect(tick(950).map((s) => s.taskId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `d${i + 1}`),
    );
  });

  /** Runs the due timer as the leader does, up to `untilMs`; returns each firing's starts. */
  function fireDueTimer(ctx: ReturnType<typeof setup>, untilMs: number): StartOrder[][] {
    const firings: StartOrder[][] = [];
    for (let n = 0; n < 100_000; n++) {
      const next = ctx.scheduler.nextDueAtMs();
      if (next === undefined || next > ctx.at(untilMs)) break;
      firings.push(ctx.tick(Math.max(next, ctx.clock.nowMs()) - ctx.at(0)));
    }
    return firings;
  }

  it('a burst larger than one pass within the lead goes out in passes one after another, all ahead', () => {
    const ctx = setup({ slots: 64 });
    const { scheduler, at, delayed } = ctx;
    scheduler.schedule(at(0), { id: 'short', payload: 'p' });
    scheduler.assign(at(0));
    scheduler.complete(at(3), { taskId: t('short'), attempt: 1, memberId: m('w') });
    // 3,000 due at once, more than a pass hands out (1,024): the due timer brings the next
    // pass at once rather than leaving the rest for their run time.
    for (let i = 0; i < 3_000; i++) delayed(`d${i}`, 1_000);
    const firings = fireDueTimer(ctx, 900).filter((starts) => starts.length > 0);
    expect(firings.map((starts) => starts.length)).toEqual([1_024, 1_024, 952]);
    expect(scheduler.scheduledCount).toBe(0);
  });

  it('a stream of run times goes out in groups a tenth of the lead apart, each most of the lead ahead', () => {
    const ctx = setup({ slots: 8 });
    const { scheduler, at, delayed, clock } = ctx;
    scheduler.schedule(at(0), { id: 'short', payload: 'p' });
    scheduler.assign(at(0));
    scheduler.complete(at(3), { taskId: t('short'), attempt: 1, memberId: m('w') });
    // 1,000 tasks due over one second, one a millisecond: a commit each if handed one by one
    // (reports of the running ones bring rounds too; this is the idle case, the timer alone).
    for (let i = 0; i < 1_000; i++) delayed(`d${i}`, 1_000 + i);
    const handed: { aheadMs: number }[] = [];
    const held: StartOrder[] = [];
    let groups = 0;
    for (let n = 0; n < 10_000; n++) {
      const next = scheduler.nextDueAtMs();
      if (next === undefined) break;
      // As the leader's due timer does: a round only if the firing brought something to do.
      clock.advance(next - clock.nowMs());
      const { changed, timedOffers } = scheduler.promoteDue(next);
      const starts = changed.length > 0 || timedOffers ? scheduler.assign(next).starts : [];
      if (starts.length > 0) groups++;
      for (const start of starts) handed.push({ aheadMs: start.startAtMs! - clock.nowMs() });
      held.push(...starts);
      // What has reached its run time finishes at once, so w's slots never fill.
      while (held.length > 0 && held[0]!.startAtMs! <= clock.nowMs()) {
        const { taskId } = held.shift()!;
        scheduler.complete(clock.nowMs(), { taskId, attempt: 1, memberId: m('w') });
      }
    }
    expect(handed).toHaveLength(1_000);
    expect(Math.min(...handed.map((h) => h.aheadMs))).toBeGreaterThanOrEqual(LEAD_MS * 0.9 - 1);
    expect(groups).toBeLessThanOrEqual(110);
  });

  it('floats only tasks of a kind lately short: a burst of another kind goes into free slots only', () => {
    // w (1 slot) runs short `email` tasks; a nightly burst of `report` tasks (never seen,
    // maybe long) must not pile onto it because its email tasks were short.
    const { scheduler, at, delayed, tick, join } = setup();
    join('w', 1, true, ['email', 'report']);
    join('v', 1, true, ['email', 'report']);
    scheduler.schedule(at(0), { id: 'mail', payload: 'p', kind: 'email' });
    scheduler.assign(at(0));
    scheduler.complete(at(3), { taskId: t('mail'), attempt: 1, memberId: m('w') });
    for (let i = 1; i <= 5; i++) delayed(`r${i}`, 1_000, { kind: 'report' });
    for (let i = 1; i <= 5; i++) delayed(`e${i}`, 1_001, { kind: 'email' });
    const handed = tick(950).map((s) => s.taskId);
    // One report per free slot (reserved), every email on w (floating).
    expect(handed.filter((id) => id.startsWith('r'))).toEqual(['r1', 'r2']);
    expect(handed.filter((id) => id.startsWith('e'))).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('hands nothing ahead while queued tasks wait for a slot: a due task must not pass them', () => {
    const { scheduler, at, delayed, tick } = setup();
    scheduler.schedule(at(0), { id: 'busy', payload: 'p' });
    scheduler.schedule(at(0), { id: 'waiting', payload: 'p' });
    expect(scheduler.assign(at(0)).starts.map((s) => s.taskId)).toEqual(['busy']);
    delayed('d1', 1_000);
    expect(tick(950)).toEqual([]);
    expect(scheduler.get(t('d1')).status).toBe('scheduled');
  });

  it('a worker lost before the run time: the task waits for its run time again, then starts anywhere, its budget intact', () => {
    const { scheduler, delayed, tick, join } = setup();
    delayed('d1', 1_000);
    expect(tick(900).map((s) => s.taskId)).toEqual(['d1']);
    const { changed } = scheduler.removeWorker(m('w'), 'is dead');
    expect(changed.map((task) => [task.id, task.status])).toEqual([['d1', 'scheduled']]);
    // Another worker (one that starts on arrival) gets nothing early...
    join('x', 1, false);
    expect(tick(950)).toEqual([]);
    // ...and at the run time it joins the queue and starts as a new attempt.
    const [start] = tick(1_000);
    expect(start).toMatchObject({ taskId: 'd1', memberId: 'x', attempt: 2 });
    expect(scheduler.nextDueAtMs()).toBeUndefined();
    // The lost attempt never began: it is not one of the task's attempts in its budget.
    expect(attemptsInSeries(scheduler.get(t('d1')))).toBe(1);
  });

  it('a worker lost and back before the run time re-attaches its timed start: one attempt, no second run', () => {
    const { scheduler, delayed, tick, join } = setup();
    delayed('d1', 1_000);
    tick(900);
    scheduler.removeWorker(m('w'), 'missed heartbeats');
    join('w', 1, true);
    const { changed, stops } = scheduler.reconcile(m('w'), [{ taskId: t('d1'), attempt: 1 }], true);
    expect(stops).toEqual([]);
    expect(changed.map((task) => [task.id, task.status])).toEqual([['d1', 'running']]);
    expect(tick(1_000)).toEqual([]);
    const done = scheduler.complete(1_000, { taskId: t('d1'), attempt: 1, memberId: m('w') });
    expect(done.task.status).toBe('completed');
  });

  it('a timed start re-attached (after a loss, or by a restarted leader) and then lost again still waits for its run time', () => {
    const { scheduler, at, delayed, tick, join } = setup();
    scheduler.schedule(at(0), { id: 'once', payload: 'p', runAtMs: at(1_000), maxAttempts: 1 });
    expect(tick(900).map((s) => s.taskId)).toEqual(['once']);
    scheduler.removeWorker(m('w'), 'missed heartbeats', undefined, at(910));
    join('w', 1, true);
    scheduler.reconcile(m('w'), [{ taskId: t('once'), attempt: 1 }], true, at(920));
    expect(scheduler.get(t('once')).status).toBe('running');
    join('x', 1, false);
    expect(
      scheduler.removeWorker(m('w'), 'killed', undefined, at(930)).changed.map((k) => k.status),
    ).toEqual(['scheduled']);
    expect(tick(990)).toEqual([]);
    // Due: it runs, though its budget is one attempt (the lost one never began).
    expect(tick(1_000).map((s) => [s.taskId, s.memberId, s.attempt])).toEqual([['once', 'x', 2]]);

    // A restarted leader: restored as running, re-attached by its worker, then lost.
    const restarted = new Scheduler({ maxPayloadBytes: 64, timedStartLeadMs: LEAD_MS });
    join('w', 1, true);
    delayed('d2', 2_000);
    expect(tick(1_900).map((s) => [s.taskId, s.memberId])).toEqual([['d2', 'w']]);
    restarted.restore(scheduler.all().map((task) => ({ ...task })));
    const holder = scheduler.get(t('d2')).memberId!;
    restarted.upsertWorker(holder, 1, new Set(['default']), { timedStarts: true });
    restarted.setEligible(holder, true);
    restarted.reconcile(holder, [{ taskId: t('d2'), attempt: 1 }], true, at(1_920));
    expect(restarted.get(t('d2')).status).toBe('running');
    const lost = restarted.removeWorker(holder, 'killed', undefined, at(1_930));
    expect(lost.changed.map((k) => [k.id, k.status])).toEqual([['d2', 'scheduled']]);
  });

  it('a cancel before the run time stops the timed start on its worker', () => {
    const { clock, scheduler, delayed, tick } = setup();
    delayed('d1', 1_000);
    tick(900);
    const { stop, task } = scheduler.cancel(clock.nowMs(), t('d1'));
    expect(task.status).toBe('cancelled');
    expect(stop).toMatchObject({ memberId: 'w', taskId: 'd1', attempt: 1, reason: 'cancelled' });
  });

  it('after a leader restart, a timed start nobody re-attached before its run time waits for it again', () => {
    const { scheduler, at, delayed, tick } = setup();
    delayed('d1', 1_000);
    tick(900);
    const restored = new Scheduler({ maxPayloadBytes: 64, timedStartLeadMs: LEAD_MS });
    restored.restore(scheduler.all().map((task) => ({ ...task })));
    expect(restored.requeueUnclaimed(at(950)).changed.map((task) => task.status)).toEqual([
      'scheduled',
    ]);
    restored.upsertWorker(m('x'), 1, new Set(['default']));
    restored.setEligible(m('x'), true);
    expect(restored.assign(at(950)).starts).toEqual([]);
    restored.promoteDue(at(1_000));
    expect(restored.assign(at(1_000)).starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['d1', 2],
    ]);
  });
});
