import type { Logger } from 'pino';
import { checkKeyLimit, type KeyLimit, type LimitTarget } from '../scheduler/key-limits.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { StoredControl } from '../scheduler/store/store.js';
import type { RateLimit } from '../scheduler/token-bucket.js';
import type { Assignment } from './assignment.js';
import type { ClusterEvents } from './cluster-events.js';
import type { CommitPipeline } from './commit-pipeline.js';
import { checkKindOrKey, KindOrKeyControls, readJsonControl } from './stored-controls.js';

/** A limit as shown: whom it holds, what it says and, for a key, how the key stands now. */
export interface LimitView {
  readonly target: LimitTarget;
  readonly limit: KeyLimit;
  /** A key's tasks running now (or maybe, not yet re-attached) and queued. */
  readonly usage: { readonly running: number; readonly queued: number } | undefined;
}

/** What setting limits reads and drives. */
export interface LimitControlsDeps {
  readonly scheduler: Pick<Scheduler, 'keyLimits' | 'keyUsage'>;
  readonly commits: Pick<CommitPipeline, 'saveControls'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly events: Pick<ClusterEvents, 'emitControl'>;
  readonly log: Logger;
  /** Throws while the leader is shutting down. */
  readonly assertRunning: () => void;
}

const CONTROLS = new KindOrKeyControls('limit');

/**
 * Concurrency and rate limits per concurrency key, and the defaults per kind (issue #18),
 * as stored controls: durable across restarts and failovers, in force in the scheduler at
 * once, answered and told to watchers once saved. A raised or lifted limit asks for an
 * assignment round, so what waited starts at once.
 */
export class LimitControls {
  constructor(private readonly deps: LimitControlsDeps) {}

  /** Re-applies stored limits at start; returns the controls that are not this unit's. */
  restore(controls: readonly { key: string; value: string }[]): { key: string; value: string }[] {
    const others: { key: string; value: string }[] = [];
    for (const control of controls) {
      const target = CONTROLS.targetOf(control.key);
      if (target === undefined) {
        others.push(control);
        continue;
      }
      const limit = readJsonControl(control.value, readLimit);
      if (limit === undefined) {
        // Unlike a pause there is no safe side to guess: say so loudly and go on without it.
        this.deps.log.error({ key: control.key }, 'stored limit unreadable; it is not applied');
        continue;
      }
      this.deps.scheduler.keyLimits.set(target, limit);
    }
    return others;
  }

  /** Sets (replaces) the limit of a key or a kind. */
  async set(target: LimitTarget, limit: KeyLimit): Promise<LimitView> {
    this.deps.assertRunning();
    checkKindOrKey(target);
    checkKeyLimit(limit);
    this.deps.scheduler.keyLimits.set(target, limit);
    await this.deps.commits.saveControls([storedControl(target, limit)]);
    const view = this.view(target, limit);
    this.deps.events.emitControl({ type: 'limit', limit: view, removed: false });
    this.deps.log.info({ ...target, limit }, 'limit set');
    this.deps.assignment.request();
    return view;
  }

  /** Lifts the limit of a key or a kind; says whether there was one. */
  async remove(target: LimitTarget): Promise<{ changed: boolean }> {
    this.deps.assertRunning();
    checkKindOrKey(target);
    const limit = this.deps.scheduler.keyLimits.get(target);
    if (limit === undefined) return { changed: false };
    this.deps.scheduler.keyLimits.remove(target);
    await this.deps.commits.saveControls([storedControl(target, undefined)]);
    this.deps.events.emitControl({ type: 'limit', limit: this.view(target, limit), removed: true });
    this.deps.log.info(target, 'limit removed');
    this.deps.assignment.request();
    return { changed: true };
  }

  /** Every limit: kinds by name, then keys by name. */
  list(): LimitView[] {
    const { kinds, keys } = this.deps.scheduler.keyLimits.targets();
    return [...kinds.sort().map((kind) => ({ kind })), ...keys.sort().map((key) => ({ key }))].map(
      (target) => this.view(target, this.deps.scheduler.keyLimits.get(target)!),
    );
  }

  private view(target: LimitTarget, limit: KeyLimit): LimitView {
    const usage = 'key' in target ? this.deps.scheduler.keyUsage(target.key) : undefined;
    return { target, limit, usage };
  }
}

function storedControl(target: LimitTarget, limit: KeyLimit | undefined): StoredControl {
  const key = CONTROLS.keyOf(target);
  if (limit === undefined) return { key, value: undefined };
  return { key, value: JSON.stringify({ maxRunning: limit.maxRunning, rate: limit.rate }) };
}

function readLimit(value: Record<string, unknown>): KeyLimit | undefined {
  const maxRunning = value.maxRunning;
  if (maxRunning !== undefined && typeof maxRunning !== 'number') return undefined;
  const rate = value.rate as Partial<RateLimit> | undefined;
  if (rate !== undefined) {
    if (typeof rate !== 'object' || rate === null) return undefined;
    const { count, intervalMs, burst } = rate;
    if (typeof count !== 'number' || typeof intervalMs !== 'number') return undefined;
    if (typeof burst !== 'number') return undefined;
  }
  const limit: KeyLimit = { maxRunning, rate: rate as RateLimit | undefined };
  try {
    checkKeyLimit(limit);
  } catch {
    return undefined;
  }
  return limit;
}
