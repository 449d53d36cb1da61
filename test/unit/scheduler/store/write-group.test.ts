import { describe, expect, it } from 'vitest';
import { WriteGroup, type WriteBatch } from '../../../../src/scheduler/store/write-group.js';
import { taskRecord } from '../../../helpers/task-record.js';
import { nextTurn } from '../../../helpers/manual-timers.js';

/** A WriteGroup over a write the test lands or fails by hand. */
function setup() {
  const writes: { batch: WriteBatch; land: () => void; fail: (err: Error) => void }[] = [];
  const commits: number[] = [];
  const group = new WriteGroup(
    (batch) =>
      new Promise<void>((resolve, reject) => writes.push({ batch, land: resolve, fail: reject })),
    (tasks, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      commits.push(tasks);
    },
  );
  return { group, writes, commits };
}

/** Whether `promise` has settled after a turn, and how. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let seen: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (seen = 'resolved'),
    () => (seen = 'rejected'),
  );
  await nextTurn();
  return seen;
}

describe('WriteGroup.flushed', () => {
  it('resolves at once with nothing asked for, and writes nothing', async () => {
    const { group, writes } = setup();
    expect(await state(group.flushed())).toBe('resolved');
    expect(writes).toEqual([]);
  });

  it('waits for the write in flight, and writes nothing of its own', async () => {
    const { group, writes } = setup();
    const saved = group.save([taskRecord({ seq: 1 })]);
    await nextTurn(); // the group is written: in flight
    const flushed = group.flushed();
    expect(await state(flushed)).toBe('pending');
    writes[0]!.land();
    expect(await state(flushed)).toBe('resolved');
    await saved;
    expect(writes).toHaveLength(1);
  });

  it('waits for the group being gathered, which lands after the one in flight', async () => {
    const { group, writes } = setup();
    void group.save([taskRecord({ seq: 1 })]);
    await nextTurn();
    void group.save([taskRecord({ seq: 2 })]); // gathered while seq 1 is in flight
    const flushed = group.flushed();
    writes[0]!.land();
    expect(await state(flushed)).toBe('pending');
    await nextTurn(); // the gathered group goes out once the first has landed
    expect(writes[1]!.batch.rows.map((r) => r.seq)).toEqual([2]);
    expect(await state(flushed)).toBe('pending');
    writes[1]!.land();
    expect(await state(flushed)).toBe('resolved');
  });

  it('rejects when the write it waits for fails (no answer promises what was lost)', async () => {
    const { group, writes } = setup();
    const saved = group.save([taskRecord({ seq: 1 })]);
    saved.catch(() => {});
    await nextTurn();
    const flushed = group.flushed();
    writes[0]!.fail(new Error('disk gone'));
    expect(await state(flushed)).toBe('rejected');
  });
});

describe('WriteGroup commit observer', () => {
  it('is told once per group written, with its task rows, not once per save', async () => {
    const { group, writes, commits } = setup();
    const saves = [1, 2, 3].map((seq) => group.save([taskRecord({ seq })]));
    await nextTurn();
    // In flight: later saves form the next group, written once this one lands.
    const later = group.save([taskRecord({ seq: 4 }), taskRecord({ seq: 5 })]);
    expect(commits).toEqual([]);
    writes[0]!.land();
    await Promise.all(saves);
    expect(commits).toEqual([3]);
    await nextTurn();
    writes[1]!.land();
    await later;
    expect(commits).toEqual([3, 2]);
  });

  it('is not told of a commit without task rows (output or controls alone)', async () => {
    const { group, writes, commits } = setup();
    const saved = group.saveControls([{ key: 'pause:kind:a', value: '{}' }]);
    await nextTurn();
    writes[0]!.land();
    await saved;
    expect(commits).toEqual([]);
  });

  it('a failing observer does not make a write that landed look failed', async () => {
    const writes: (() => void)[] = [];
    const group = new WriteGroup(
      () => new Promise<void>((resolve) => writes.push(resolve)),
      () => {
        throw new Error('metrics broke');
      },
    );
    const saved = group.save([taskRecord({ seq: 1 })]);
    await nextTurn();
    writes[0]!();
    await expect(saved).resolves.toBeUndefined();
  });

  it('is not told of a write that failed', async () => {
    const { group, writes, commits } = setup();
    const saved = group.save([taskRecord({ seq: 1 })]);
    await nextTurn();
    writes[0]!.fail(new Error('disk full'));
    await expect(saved).rejects.toThrow('disk full');
    expect(commits).toEqual([]);
  });
});
