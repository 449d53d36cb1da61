import pino from 'pino';
import { testCoordinatorOptions } from '../../helpers/coordinator-options.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../../src/leader/coordinator.js';
import { MemoryTaskStore } from '../../../src/scheduler/store/memory-store.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import { StorageFullError, UnavailableError } from '../../../src/shared/errors.js';
import type { TaskId } from '../../../src/shared/ids.js';

/** A memory store whose writes start failing when told to, like a full disk. */
class FailingStore extends MemoryTaskStore {
  failing: Error | undefined;
  override async save(records: readonly TaskRecord[]): Promise<void> {
    if (this.failing) throw this.failing;
    return super.save(records);
  }
}

/** What better-sqlite3 throws when the disk is full. */
function sqliteFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

const coordinators: Coordinator[] = [];
afterEach(() => {
  for (const coordinator of coordinators.splice(0)) coordinator.shutdown('test over');
});

async function startCoordinator(store: FailingStore, failures: unknown[]): Promise<Coordinator> {
  let next = 0;
  const coordinator = new Coordinator(
    {
      clock: { nowMs: () => 1_000 },
      ids: { taskId: () => `t${++next}`, token: () => 'token', secret: () => 'secret' },
      logger: pino({ level: 'silent' }),
      store,
      fail: (err) => failures.push(err),
    },
    testCoordinatorOptions({ sweepIntervalMs: 60_000 }),
  );
  coordinators.push(coordinator);
  await coordinator.start();
  return coordinator;
}

describe('Coordinator with a store that fails', () => {
  it('rejects the call, stops the leader and reports the failure once the store cannot write', async () => {
    const store = new FailingStore();
    const failures: unknown[] = [];
    const coordinator = await startCoordinator(store, failures);
    const { task: first } = await coordinator.scheduleTask({ payload: 'kept' });
    expect(first.id).toBe('t1');

    store.failing = sqliteFull();
    // The caller hears that the disk is full (RESOURCE_EXHAUSTED / 507), not INTERNAL.
    const refused = coordinator.scheduleTask({ payload: 'lost' });
    await expect(refused).rejects.toBeInstanceOf(StorageFullError);
    await expect(refused).rejects.toThrow("the leader's disk is full");
    expect(failures).toEqual([store.failing]);

    // Stopped: later calls are refused as UNAVAILABLE instead of answering from memory
    // that is ahead of the disk.
    await expect(coordinator.scheduleTask({ payload: 'later' })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect((await store.loadAll()).map((task) => task.id)).toEqual(['t1' as TaskId]);
  });

  it('answers any other store failure as UNAVAILABLE, naming it', async () => {
    const store = new FailingStore();
    const coordinator = await startCoordinator(store, []);
    store.failing = new Error('disk I/O error');
    await expect(coordinator.scheduleTask({ payload: 'lost' })).rejects.toThrow(
      new UnavailableError(
        'the leader could not save the change (a store failure; see its log) and has stopped',
      ),
    );
  });
});
