import type { TaskRecord } from '../task.js';
import type { TaskStore } from './store.js';

/**
 * Keeps copies of task records in memory: nothing survives the process. For tests and
 * `--store memory`. It copies on save so it holds what was saved, not live objects the
 * scheduler goes on changing.
 */
export class MemoryTaskStore implements TaskStore {
  private readonly records = new Map<string, TaskRecord>();

  async loadAll(): Promise<TaskRecord[]> {
    return [...this.records.values()].sort((a, b) => a.seq - b.seq).map((r) => ({ ...r }));
  }

  async save(records: readonly TaskRecord[]): Promise<void> {
    for (const record of records) this.records.set(record.id, { ...record });
  }

  async close(): Promise<void> {}
}
