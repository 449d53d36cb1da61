import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { StoredControl } from '../scheduler/store/store.js';
import type { Clock } from '../shared/clock.js';
import type { Assignment } from './assignment.js';
import type { ClusterEvents } from './cluster-events.js';
import type { CommitPipeline } from './commit-pipeline.js';
import {
  checkKindOrKey,
  KindOrKeyControls,
  readJsonControl,
  type KindOrKey,
} from './stored-controls.js';

/** What a pause holds: every task of a kind, or every task with a concurrency key. */
export type PauseTarget = KindOrKey;

/** A pause, and since when. */
export type Pause = PauseTarget & { readonly sinceMs: number };

/** What pausing reads and drives. */
export interface PausesDeps {
  readonly scheduler: Pick<Scheduler, 'pauseKind' | 'resumeKind' | 'keyLimits'>;
  readonly commits: Pick<CommitPipeline, 'saveControls' | 'flushed'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly events: Pick<ClusterEvents, 'emitControl'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Throws while the leader is shutting down. */
  readonly assertRunning: () => void;
}

/** Controls of this unit: `pause/kind/<kind>` and `pause/key/<key>`. */
const CONTROLS = new KindOrKeyControls('pause');

/**
 * Pause and resume per kind and per concurrency key (issue #18): pending tasks keep their
 * places, nothing of it starts, running ones finish. Each pause is a stored control, so it
 * holds across restarts and failovers; it takes effect at once in the scheduler, and the
 * caller is answered (and watchers told) once it is saved.
 */
export class Pauses {
  private readonly kinds = new Map<string, Pause>();
  private readonly keys = new Map<string, Pause>();

  constructor(private readonly deps: PausesDeps) {}

  /** Re-applies stored pauses at start; returns the controls that are not this unit's. */
  restore(controls: readonly { key: string; value: string }[]): { key: string; value: string }[] {
    const others: { key: string; value: string }[] = [];
    for (const control of controls) {
      const target = CONTROLS.targetOf(control.key);
      if (target === undefined) {
        others.push(control);
        continue;
      }
      // A value this leader cannot read still means paused (the safe side): a leader that
      // refused to start over it would stop the whole group.
      const sinceMs = readJsonControl(control.value, (v) =>
        typeof v.sinceMs === 'number' && Number.isFinite(v.sinceMs) ? v.sinceMs : undefined,
      );
      if (sinceMs === undefined) {
        this.deps.log.warn({ key: control.key }, 'stored pause unreadable; it stays paused');
      }
      this.apply({ ...target, sinceMs: sinceMs ?? 0 });
    }
    return others;
  }

  /** Pauses a kind or key; says whether it changed anything (it may have been paused). */
  async pause(target: PauseTarget): Promise<{ pause: Pause; changed: boolean }> {
    this.deps.assertRunning();
    checkKindOrKey(target);
    const held = this.mapOf(target).get(nameOf(target));
    if (held !== undefined) {
      // "Already paused" must not be said of a pause a crash could still lose: the answer
      // waits for the first pause's write.
      await this.deps.commits.flushed();
      return { pause: held, changed: false };
    }
    const pause: Pause = { ...target, sinceMs: this.deps.clock.nowMs() };
    this.apply(pause);
    await this.deps.commits.saveControls([storedControl(target, pause)]);
    this.deps.events.emitControl({ type: 'pause', pause, removed: false });
    this.deps.log.info(target, 'paused');
    return { pause, changed: true };
  }

  /** Resumes a kind or key; says whether it was paused. Its queued tasks are offered at once. */
  async resume(target: PauseTarget): Promise<{ changed: boolean }> {
    this.deps.assertRunning();
    checkKindOrKey(target);
    const map = this.mapOf(target);
    const held = map.get(nameOf(target));
    if (held === undefined) {
      // As for pause: "not paused" waits for an earlier resume's write.
      await this.deps.commits.flushed();
      return { changed: false };
    }
    map.delete(nameOf(target));
    if ('kind' in target) this.deps.scheduler.resumeKind(target.kind);
    else this.deps.scheduler.keyLimits.resumeKey(target.key);
    await this.deps.commits.saveControls([storedControl(target, undefined)]);
    this.deps.events.emitControl({ type: 'pause', pause: held, removed: true });
    this.deps.log.info(target, 'resumed');
    this.deps.assignment.request();
    return { changed: true };
  }

  /** Every pause: kinds by name, then keys by name. */
  list(): Pause[] {
    const byName = (a: [string, Pause], b: [string, Pause]) => (a[0] < b[0] ? -1 : 1);
    return [
      ...[...this.kinds].sort(byName).map(([, p]) => p),
      ...[...this.keys].sort(byName).map(([, p]) => p),
    ];
  }

  private apply(pause: Pause): void {
    this.mapOf(pause).set(nameOf(pause), pause);
    if ('kind' in pause) this.deps.scheduler.pauseKind(pause.kind);
    else this.deps.scheduler.keyLimits.pauseKey(pause.key);
  }

  private mapOf(target: PauseTarget): Map<string, Pause> {
    return 'kind' in target ? this.kinds : this.keys;
  }
}

function nameOf(target: PauseTarget): string {
  return 'kind' in target ? target.kind : target.key;
}

function storedControl(target: PauseTarget, pause: Pause | undefined): StoredControl {
  return {
    key: CONTROLS.keyOf(target),
    value: pause === undefined ? undefined : JSON.stringify({ sinceMs: pause.sinceMs }),
  };
}
