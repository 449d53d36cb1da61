import { MemoryTaskStore } from '../../src/scheduler/store/memory-store.js';
import type { StoredControl, StoredOutput, TaskStore } from '../../src/scheduler/store/store.js';
import type { TaskRecord } from '../../src/scheduler/task.js';

/** One write asked of the store. */
export interface StoreWrite {
  readonly op: 'save' | 'remove' | 'saveOutput' | 'saveControls';
  /** Task ids written (task seqs as strings for output). */
  readonly ids: readonly string[];
  /** The records as they were when the write was asked for (saves only). */
  readonly records: readonly TaskRecord[];
  /** 'pending' until it lands or fails (held writes stay pending until released). */
  state: 'pending' | 'landed' | 'failed';
}

/**
 * A MemoryTaskStore whose writes can be held until released, and whose next write can be
 * made to fail: tests prove what happens before a write lands, and after one fails.
 * Records are copied when the write is asked for, as a durable store serialises them then.
 */
export class GatedStore implements TaskStore {
  /** What has landed. */
  readonly inner = new MemoryTaskStore();
  /** Every write asked for, in order. */
  readonly writes: StoreWrite[] = [];
  private gate: (() => void)[] | undefined;
  private failure: { error: unknown } | undefined;
  /** Writes asked for and not yet landed or failed. */
  private readonly landings = new Set<Promise<void>>();

  /** Later writes wait until released. */
  hold(): void {
    this.gate ??= [];
  }

  /** Lets the oldest held write go on (the store stays held). */
  releaseOne(): void {
    this.gate?.shift()?.();
  }

  /** Lets every held write go on, in order, and stops holding. */
  release(): void {
    const waiting = this.gate ?? [];
    this.gate = undefined;
    for (const go of waiting) go();
  }

  /** The next write fails with `error` (when it is released, if held). */
  failNext(error: unknown): void {
    this.failure = { error };
  }

  /** Writes asked for, of one kind if given. */
  count(op?: StoreWrite['op']): number {
    return this.writes.filter((w) => op === undefined || w.op === op).length;
  }

  /** The records the store holds now. */
  saved(): Promise<TaskRecord[]> {
    return this.inner.loadAll();
  }

  loadAll(): Promise<TaskRecord[]> {
    return this.inner.loadAll();
  }

  loadOutput(): Promise<StoredOutput[]> {
    return this.inner.loadOutput();
  }

  loadControls(): Promise<{ key: string; value: string }[]> {
    return this.inner.loadControls();
  }

  saveControls(controls: readonly StoredControl[]): Promise<void> {
    if (controls.length === 0) return Promise.resolve();
    const copies = controls.map((c) => ({ ...c }));
    return this.write(
      'saveControls',
      copies.map((c) => c.key),
      [],
      () => this.inner.saveControls(copies),
    );
  }

  save(records: readonly TaskRecord[]): Promise<void> {
    // As the SQL stores (WriteGroup) do: nothing to write resolves at once, held or not.
    if (records.length === 0) return Promise.resolve();
    const copies = records.map((r) => ({ ...r }));
    return this.write(
      'save',
      copies.map((r) => r.id),
      copies,
      () => this.inner.save(copies),
    );
  }

  remove(records: readonly TaskRecord[]): Promise<void> {
    const copies = records.map((r) => ({ ...r }));
    return this.write(
      'remove',
      copies.map((r) => r.id),
      [],
      () => this.inner.remove(copies),
    );
  }

  saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    const copies = chunks.map((c) => ({ taskSeq: c.taskSeq, chunk: { ...c.chunk } }));
    const ids = copies.map((c) => String(c.taskSeq));
    return this.write('saveOutput', ids, [], () => this.inner.saveOutput(copies));
  }

  /**
   * Resolves once every write asked for so far has landed (held ones once released);
   * rejects if one of them fails, as the SQL stores' does.
   */
  async flushed(): Promise<void> {
    await Promise.all([...this.landings]);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private write(
    op: StoreWrite['op'],
    ids: string[],
    records: TaskRecord[],
    apply: () => Promise<void>,
  ): Promise<void> {
    const landing = this.land(op, ids, records, apply);
    this.landings.add(landing);
    const forget = () => this.landings.delete(landing);
    landing.then(forget, forget);
    return landing;
  }

  private async land(
    op: StoreWrite['op'],
    ids: string[],
    records: TaskRecord[],
    apply: () => Promise<void>,
  ): Promise<void> {
    const entry: StoreWrite = { op, ids, records, state: 'pending' };
    this.writes.push(entry);
    const failure = this.failure;
    this.failure = undefined;
    const gate = this.gate;
    if (gate) await new Promise<void>((resolve) => gate.push(resolve));
    if (failure) {
      entry.state = 'failed';
      throw failure.error;
    }
    await apply();
    entry.state = 'landed';
  }
}
