import { RECENT_ATTEMPT_WEIGHT } from './slot-policy.js';

/**
 * How long attempts have lately taken, per key (a worker, a task kind), in ms, from start
 * order to report: a moving average in which the newest weighs RECENT_ATTEMPT_WEIGHT. It
 * decides whose tasks count as short (prefetch, floating timed starts). Pure.
 */
export class AttemptPace<K> {
  private readonly recentMs = new Map<K, number>();

  /** `shortMs`: the most the average may be for {@link isShort}. */
  constructor(private readonly shortMs: number) {}

  /** An attempt of `key` took `ms`. */
  observe(key: K, ms: number): void {
    const recent = this.recentMs.get(key);
    this.recentMs.set(
      key,
      recent === undefined ? ms : recent + RECENT_ATTEMPT_WEIGHT * (ms - recent),
    );
  }

  /** True once an attempt of `key` has been seen and they lately took at most `shortMs`. */
  isShort(key: K): boolean {
    const recent = this.recentMs.get(key);
    return recent !== undefined && recent <= this.shortMs;
  }

  /** The moving average of `key`'s attempts in ms; undefined before the first. */
  recent(key: K): number | undefined {
    return this.recentMs.get(key);
  }

  /** Forgets `key` (a worker gone): its next attempts start a new average. */
  forget(key: K): void {
    this.recentMs.delete(key);
  }
}
