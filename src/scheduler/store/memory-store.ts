import type { TaskRecord } from '../task.js';
import type { StoredControl, StoredOutput, TaskStore } from './store.js';

/**
 * Keeps copies of task records in memory: nothing survives the process. For tests and
 * `--store memory`. It copies on save so it holds what was saved, not live objects the
 * scheduler goes on changing.
 */
export class MemoryTaskStore implements TaskStore {
  private readonly records = new Map<string, TaskRecord>();
  private readonly output = new Map<number, StoredOutput[]>();
  private readonly controls = new Map<string, string>();

  async saveControls(controls: readonly StoredControl[]): Promise<void> {
    for (const { key, value } of controls) {
      if (value === undefined) this.controls.delete(key);
      else this.controls.set(key, value);
    }
  }

  async flushed(): Promise<void> {}

  async loadControls(): Promise<{ key: string; value: string }[]> {
    return [...this.controls.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
  }

  async loadAll(): Promise<TaskRecord[]> {
    return [...this.records.values()].sort((a, b) => a.seq - b.seq).map(copyRecord);
  }

  async save(records: readonly TaskRecord[]): Promise<void> {
    for (const record of records) this.records.set(record.id, copyRecord(record));
  }

  async remove(records: readonly TaskRecord[]): Promise<void> {
    for (const record of records) {
      this.records.delete(record.id);
      this.output.delete(record.seq);
    }
  }

  async saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    for (const stored of chunks) {
      const list = this.output.get(stored.taskSeq) ?? [];
      list.push({ taskSeq: stored.taskSeq, chunk: { ...stored.chunk } });
      this.output.set(stored.taskSeq, list);
    }
  }

  async loadOutput(): Promise<StoredOutput[]> {
    return [...this.output.keys()]
      .sort((a, b) => a - b)
      .flatMap((seq) =>
        this.output.get(seq)!.map((s) => ({ taskSeq: seq, chunk: { ...s.chunk } })),
      );
  }

  async close(): Promise<void> {}
}

/** A copy with every field spelled out, so copies share one compact V8 shape (no spread). */
function copyRecord(r: TaskRecord): TaskRecord {
  return {
    id: r.id,
    kind: r.kind,
    payload: r.payload,
    priority: r.priority,
    targetMemberId: r.targetMemberId,
    maxAttempts: r.maxAttempts,
    retryBackoffMs: r.retryBackoffMs,
    timeoutMs: r.timeoutMs,
    seq: r.seq,
    queueSeq: r.queueSeq,
    status: r.status,
    attempt: r.attempt,
    attemptBase: r.attemptBase,
    memberId: r.memberId,
    result: r.result,
    error: r.error,
    attemptEnded: r.attemptEnded,
    retryAtMs: r.retryAtMs,
    runAtMs: r.runAtMs,
    idempotencyKey: r.idempotencyKey,
    idempotencyExpiresAtMs: r.idempotencyExpiresAtMs,
    concurrencyKey: r.concurrencyKey,
    createdAtMs: r.createdAtMs,
    startedAtMs: r.startedAtMs,
    finishedAtMs: r.finishedAtMs,
  };
}
