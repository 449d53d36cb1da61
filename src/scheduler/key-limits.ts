import { InvalidArgumentError } from '../shared/errors.js';
import type { MemberId, TaskId } from '../shared/ids.js';
import { BTree } from './sorted-btree.js';
import { attemptKey } from './task.js';
import { TokenBucket, type RateLimit } from './token-bucket.js';

/**
 * What a limit holds a concurrency key to: at most `maxRunning` of its tasks at once across
 * the cluster, and at most a rate of starts. Either may be unset (no such limit).
 */
export interface KeyLimit {
  readonly maxRunning: number | undefined;
  readonly rate: RateLimit | undefined;
}

/**
 * Whom a limit is set on: one concurrency key, or every key of a kind's tasks (the
 * default for keys that have no limit of their own, each key counted on its own).
 */
export type LimitTarget = { readonly key: string } | { readonly kind: string };

/** Why a key's tasks may not start now, for people (`concurrency customer:42 5/5`). */
export type KeyHold =
  | { readonly why: 'paused'; readonly key: string }
  | { readonly why: 'concurrency'; readonly key: string; running: number; max: number }
  | { readonly why: 'rate'; readonly key: string; readonly rate: RateLimit; nextAtMs: number };

/** How many rate buckets are kept before full ones are swept (and how often, in new ones). */
const SWEEP_BUCKETS_AT = 10_000;

/** An attempt that may still run on a member the leader lost (see KeyLimits.lost). */
interface LostHold {
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly memberId: MemberId;
  readonly key: string;
  readonly untilMs: number;
}

/** What the limits read of the rest of the scheduler, and drive. */
export interface KeyLimitsDeps {
  /** Slots held by tasks of a key across the cluster. */
  readonly heldByKey: (key: string) => number;
  /** Asks the queue's gate again about a key, or about every key. */
  readonly refreshKey: (key: string) => void;
  readonly refreshAllKeys: () => void;
}

interface Bucket {
  readonly key: string;
  readonly id: string;
  readonly bucket: TokenBucket;
  /** Set while the bucket is empty: when its key may start again. */
  reopenAtMs: number | undefined;
}

/**
 * The concurrency and rate limits per key, the default limits per kind and the paused
 * keys (issue #18), as one gate for the queue: a key's tasks are offered only while it is
 * not paused, holds fewer slots than its limit, and has a rate token. Pure: time comes in
 * with each call; an emptied rate bucket is reopened by {@link reopenDue}, which the
 * leader's one due timer drives through `Scheduler.promoteDue`.
 */
export class KeyLimits {
  private readonly byKey = new Map<string, KeyLimit>();
  private readonly byKind = new Map<string, KeyLimit>();
  private readonly pausedKeys = new Set<string>();
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets made since the last sweep of full ones (see sweepFullBuckets). */
  private newBucketsSinceSweep = 0;
  /** Empty buckets by (reopenAtMs, bucket id): the earliest is the next due time. */
  private readonly reopens = new BTree<[number, string], Bucket>(undefined, compareReopens);
  /**
   * Attempts that may still run on a worker the leader lost, by `task#attempt`: restored
   * running tasks whose worker has not re-attached them (until it does, or reports the
   * attempt, or the re-attach grace ends), and the keyed attempts of a worker declared dead
   * (until the time its own fence has stopped them, see JoinResponse.fence_after_ms, or it
   * reports them). They count against their key.
   */
  private readonly lost = new Map<string, LostHold>();
  private readonly lostByKey = new Map<string, number>();
  /** Lost holds with an end, by (untilMs, `task#attempt`). */
  private readonly lostEnds = new BTree<[number, string], string>(undefined, compareReopens);

  constructor(private readonly deps: KeyLimitsDeps) {}

  /** The gate: true if tasks of `kind` with `key` may start now. */
  readonly isOpen = (kind: string, key: string): boolean => this.holdOf(kind, key) === undefined;

  /** Why tasks of `kind` with `key` may not start now; undefined if they may. */
  holdOf(kind: string, key: string): KeyHold | undefined {
    if (this.pausedKeys.size > 0 && this.pausedKeys.has(key)) return { why: 'paused', key };
    // A key's own limit replaces its kind's default as a whole (not field by field).
    const own = this.byKey.get(key);
    const limit = own ?? this.byKind.get(kind);
    if (limit === undefined) return undefined;
    const max = limit.maxRunning;
    if (max !== undefined) {
      const running = this.running(key);
      if (running >= max) return { why: 'concurrency', key, running, max };
    }
    const bucket = this.buckets.get(bucketId(kind, key, own));
    if (bucket?.reopenAtMs !== undefined) {
      return { why: 'rate', key, rate: bucket.bucket.rate, nextAtMs: bucket.reopenAtMs };
    }
    return undefined;
  }

  /** Tasks of the key that may be running: slots held, plus restored ones not re-attached. */
  running(key: string): number {
    return this.deps.heldByKey(key) + (this.lostByKey.get(key) ?? 0);
  }

  /** Whether tasks of `kind` with `key` are held to a rate (their key's or kind's limit). */
  readonly isRated = (kind: string, key: string): boolean =>
    (this.byKey.get(key) ?? this.byKind.get(kind))?.rate !== undefined;

  /** A task of `kind` with `key` starts at `nowMs`: it takes a rate token, if limited. */
  started(kind: string, key: string, nowMs: number): void {
    const own = this.byKey.get(key);
    const limit = own ?? this.byKind.get(kind);
    if (limit?.rate === undefined) return;
    const id = bucketId(kind, key, own);
    let entry = this.buckets.get(id);
    if (entry === undefined) {
      this.sweepFullBuckets(nowMs);
      entry = { key, id, bucket: new TokenBucket(limit.rate, nowMs), reopenAtMs: undefined };
      this.buckets.set(id, entry);
    }
    entry.bucket.take(nowMs);
    if (entry.bucket.hasTokenAt(nowMs)) return;
    entry.reopenAtMs = entry.bucket.nextTokenAtMs();
    this.reopens.set([entry.reopenAtMs, id], entry);
    this.deps.refreshKey(key);
  }

  /**
   * Forgets buckets that are full again (a full bucket is the same as none), once there are
   * many and only every so many new buckets: with a kind's default rate and a key per
   * tenant, buckets would otherwise pile up one per key ever seen. Amortized O(1).
   */
  private sweepFullBuckets(nowMs: number): void {
    if (this.buckets.size < SWEEP_BUCKETS_AT || ++this.newBucketsSinceSweep < SWEEP_BUCKETS_AT) {
      return;
    }
    this.newBucketsSinceSweep = 0;
    for (const [id, entry] of this.buckets) {
      if (entry.reopenAtMs === undefined && entry.bucket.fullAt(nowMs)) this.buckets.delete(id);
    }
  }

  /** Rate buckets kept (one per key, or per key and kind, that started a task lately). */
  get rateBucketCount(): number {
    return this.buckets.size;
  }

  /** When the earliest empty bucket gets a token again or a lost hold ends, if any. */
  nextReopenAtMs(): number | undefined {
    const bucket = this.reopens.minKey()?.[0];
    const lost = this.lostEnds.minKey()?.[0];
    if (bucket === undefined) return lost;
    return lost === undefined ? bucket : Math.min(bucket, lost);
  }

  /**
   * Reopens the buckets whose next token has come and ends the lost holds whose time is
   * up; returns how many keys may have reopened.
   */
  reopenDue(nowMs: number): number {
    let reopened = 0;
    for (;;) {
      const first = this.lostEnds.minKey();
      if (first === undefined || first[0] > nowMs) break;
      this.releaseLost(this.lostEnds.get(first)!);
      reopened++;
    }
    for (;;) {
      const first = this.reopens.minKey();
      if (first === undefined || first[0] > nowMs) return reopened;
      const entry = this.reopens.get(first)!;
      this.reopens.delete(first);
      entry.reopenAtMs = undefined;
      this.deps.refreshKey(entry.key);
      reopened++;
    }
  }

  /** Sets (replaces) the limit of a key or a kind; its buckets start full again. */
  set(target: LimitTarget, limit: KeyLimit): void {
    if ('key' in target) this.byKey.set(target.key, limit);
    else this.byKind.set(target.kind, limit);
    this.limitChanged(target);
  }

  /** Removes the limit of a key or a kind; false if it had none. */
  remove(target: LimitTarget): boolean {
    const removed =
      'key' in target ? this.byKey.delete(target.key) : this.byKind.delete(target.kind);
    if (removed) this.limitChanged(target);
    return removed;
  }

  /** The limit set on a key or a kind, if any. */
  get(target: LimitTarget): KeyLimit | undefined {
    return 'key' in target ? this.byKey.get(target.key) : this.byKind.get(target.kind);
  }

  /** The keys and kinds that have a limit set. */
  targets(): { kinds: string[]; keys: string[] } {
    return { kinds: [...this.byKind.keys()], keys: [...this.byKey.keys()] };
  }

  /** Stops starts of a key's tasks; false if it was paused already. */
  pauseKey(key: string): boolean {
    if (this.pausedKeys.has(key)) return false;
    this.pausedKeys.add(key);
    this.deps.refreshKey(key);
    return true;
  }

  /** Lets a paused key's tasks start again; false if it was not paused. */
  resumeKey(key: string): boolean {
    if (!this.pausedKeys.delete(key)) return false;
    this.deps.refreshKey(key);
    return true;
  }

  /**
   * Counts an attempt that may still run on a lost member against its key: until
   * `untilMs`, or (undefined) until {@link forgetUnclaimed}, unless that member re-attaches
   * or reports it first ({@link claimed}).
   */
  holdLost(hold: Omit<LostHold, 'untilMs'>, untilMs?: number): void {
    const id = attemptKey(hold.taskId, hold.attempt);
    this.releaseLost(id);
    const end = untilMs ?? Number.POSITIVE_INFINITY;
    this.lost.set(id, { ...hold, untilMs: end });
    this.lostByKey.set(hold.key, (this.lostByKey.get(hold.key) ?? 0) + 1);
    if (untilMs !== undefined) this.lostEnds.set([untilMs, id], id);
    this.deps.refreshKey(hold.key);
  }

  /**
   * The member that may still have been running this attempt re-attached it (its slot
   * counts from now on) or reported its end (it runs no more): the lost hold ends. A word
   * from another member changes nothing.
   */
  claimed(taskId: TaskId, attempt: number, memberId: MemberId): void {
    const id = attemptKey(taskId, attempt);
    if (this.lost.get(id)?.memberId === memberId) this.releaseLost(id);
  }

  /** The re-attach grace is over: restored tasks not re-attached count no more. */
  forgetUnclaimed(): void {
    for (const [id, hold] of [...this.lost]) {
      if (hold.untilMs === Number.POSITIVE_INFINITY) this.releaseLost(id);
    }
  }

  private releaseLost(id: string): void {
    const hold = this.lost.get(id);
    if (hold === undefined) return;
    this.lost.delete(id);
    if (hold.untilMs !== Number.POSITIVE_INFINITY) this.lostEnds.delete([hold.untilMs, id]);
    const count = (this.lostByKey.get(hold.key) ?? 0) - 1;
    if (count > 0) this.lostByKey.set(hold.key, count);
    else this.lostByKey.delete(hold.key);
    this.deps.refreshKey(hold.key);
  }

  /** A limit changed: its rate buckets start over and the keys it covers are asked again. */
  private limitChanged(target: LimitTarget): void {
    for (const [id, entry] of this.buckets) {
      const covered =
        'key' in target ? entry.key === target.key : id.startsWith(kindBucketPrefix(target.kind));
      if (!covered) continue;
      if (entry.reopenAtMs !== undefined) this.reopens.delete([entry.reopenAtMs, id]);
      this.buckets.delete(id);
    }
    if ('key' in target) this.deps.refreshKey(target.key);
    else this.deps.refreshAllKeys();
  }
}

/**
 * A key with a limit of its own has one bucket for all its tasks; a key limited by its
 * kind's default has one per kind (the default applies to each key of that kind's tasks).
 */
function bucketId(kind: string, key: string, own: KeyLimit | undefined): string {
  return own !== undefined ? `key\u0000${key}` : `${kindBucketPrefix(kind)}${key}`;
}

function kindBucketPrefix(kind: string): string {
  return `kind\u0000${kind}\u0000`;
}

function compareReopens(a: [number, string], b: [number, string]): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/** A hold as people read it in a task's `waiting`: `concurrency customer:42 5/5`. */
export function describeHold(hold: KeyHold): string {
  switch (hold.why) {
    case 'paused':
      return `paused: key ${hold.key}`;
    case 'concurrency':
      return `concurrency ${hold.key} ${hold.running}/${hold.max}`;
    case 'rate':
      return `rate ${hold.key} ${describeRate(hold.rate)}`;
  }
}

/** A rate as `100/1m`, `5/1s` or `3/250ms` (the form the CLI takes). */
export function describeRate(rate: RateLimit): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  const unit = units.find(([ms]) => rate.intervalMs % ms === 0);
  const per =
    unit === undefined ? `${rate.intervalMs}ms` : `${rate.intervalMs / unit[0]}${unit[1]}`;
  const burst = rate.burst > 1 ? ` burst ${rate.burst}` : '';
  return `${rate.count}/${per}${burst}`;
}

/** The most a limit may say: beyond these a limit is a typo, not a setting. */
export const KEY_LIMIT_BOUNDS = {
  maxRunning: 1_000_000,
  rateCount: 1_000_000,
  rateIntervalMs: 86_400_000,
} as const;

/**
 * Throws INVALID_ARGUMENT unless `limit` is one a person meant: at least one of its parts
 * set, each a whole number in its bounds, a burst no larger than the count.
 */
export function checkKeyLimit(limit: KeyLimit): void {
  const { maxRunning, rate } = limit;
  if (maxRunning === undefined && rate === undefined) {
    throw new InvalidArgumentError(
      'a limit needs max_running or a rate (rate_count per rate_interval_ms); to lift a limit, remove it',
    );
  }
  const whole = (value: number, least: number, most: number, what: string) => {
    if (!Number.isSafeInteger(value) || value < least || value > most) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${least} to ${most}`);
    }
  };
  if (maxRunning !== undefined) whole(maxRunning, 1, KEY_LIMIT_BOUNDS.maxRunning, 'max_running');
  if (rate !== undefined) {
    whole(rate.count, 1, KEY_LIMIT_BOUNDS.rateCount, 'rate_count');
    whole(rate.intervalMs, 1, KEY_LIMIT_BOUNDS.rateIntervalMs, 'rate_interval_ms (at most a day)');
    whole(rate.burst, 1, rate.count, 'rate_burst (at most rate_count)');
  }
}
