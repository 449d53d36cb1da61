/** A worker as coverage counts it: whether it may get new work, and the kinds it runs. */
interface CoveringWorker {
  readonly eligible: boolean;
  readonly kinds: ReadonlySet<string>;
}

/**
 * How many eligible workers run each kind, kept as workers join, change and leave, so a
 * pending task of a kind no eligible worker runs can say so (waiting-reason.ts) in O(1),
 * however many tasks a listing shows and workers there are. Pure.
 */
export class KindCoverage {
  private readonly counts = new Map<string, number>();

  /** Runs `mutate` on a worker's eligibility or kinds, keeping the counts right. */
  change<W extends CoveringWorker>(worker: W, mutate: (worker: W) => void): void {
    this.count(worker, -1);
    mutate(worker);
    this.count(worker, 1);
  }

  /** True if an eligible worker runs `kind`. */
  covers(kind: string): boolean {
    return this.counts.has(kind);
  }

  private count(worker: CoveringWorker, sign: 1 | -1): void {
    if (!worker.eligible) return;
    for (const kind of worker.kinds) {
      const n = (this.counts.get(kind) ?? 0) + sign;
      if (n > 0) this.counts.set(kind, n);
      else this.counts.delete(kind);
    }
  }
}
