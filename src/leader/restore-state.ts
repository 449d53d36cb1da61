import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { TaskStore } from '../scheduler/store/store.js';
import type { TaskOutputLog } from '../scheduler/task-output.js';
import { isFinal, type TaskRecord } from '../scheduler/task.js';

/** A unit that keeps stored controls under its own prefixes. */
export interface ControlKeeper {
  restore(controls: readonly { key: string; value: string }[]): { key: string; value: string }[];
}

/** What a starting leader rebuilds its state from, and into. */
export interface RestoreStateDeps {
  readonly store: Pick<TaskStore, 'loadAll' | 'loadControls' | 'loadOutput'>;
  readonly scheduler: Pick<Scheduler, 'restore' | 'pendingCount' | 'scheduledCount'>;
  /**
   * The units that keep controls (pauses, limits, cron schedules): each takes its own from
   * the stored controls and hands back the rest.
   */
  readonly controls: readonly ControlKeeper[];
  readonly output: Pick<TaskOutputLog, 'restore'>;
  readonly log: Logger;
}

/**
 * Rebuilds a starting leader from its store: the task list, the controls (pauses) and the
 * kept output, logging what it found and what it could not use. Returns how many tasks
 * were running (their workers get a grace to re-attach them) and the records loaded.
 */
export async function restoreState(
  deps: RestoreStateDeps,
  reattachGraceMs: number,
): Promise<{ running: number; records: readonly TaskRecord[] }> {
  const { store, scheduler, controls, output, log } = deps;
  const records = await store.loadAll();
  const { ignored } = scheduler.restore(records);
  if (ignored.length > 0) {
    log.error(
      { ignored: ignored.length, seqs: ignored.slice(0, 20).map((task) => task.seq) },
      'task rows that repeat the id of a newer row were ignored (written before ids were checked)',
    );
  }
  let unknown = await store.loadControls();
  const controlCount = unknown.length;
  for (const keeper of controls) unknown = keeper.restore(unknown);
  if (unknown.length > 0) {
    log.warn({ keys: unknown.map((c) => c.key) }, 'stored controls this leader does not know');
  }
  const bySeq = new Map(records.map((task) => [task.seq, task]));
  for (const { taskSeq, chunk } of await store.loadOutput()) {
    const task = bySeq.get(taskSeq);
    if (task) output.restore(task.id, chunk, isFinal(task.status));
  }
  const running = records.filter((task) => task.status === 'running').length;
  if (records.length > 0) {
    log.info(
      {
        tasks: records.length,
        pending: scheduler.pendingCount,
        scheduled: scheduler.scheduledCount,
        running,
        controls: controlCount,
        reattachGraceMs,
      },
      'task list restored',
    );
  }
  return { running, records };
}
