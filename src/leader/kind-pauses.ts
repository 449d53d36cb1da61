import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { StoredControl } from '../scheduler/store/store.js';
import { checkKind } from '../scheduler/task.js';
import type { Clock } from '../shared/clock.js';
import type { Assignment } from './assignment.js';
import type { CommitPipeline } from './commit-pipeline.js';

/** A paused kind, and since when. */
export interface KindPause {
  readonly kind: string;
  readonly sinceMs: number;
}

/** What pausing reads and drives. */
export interface KindPausesDeps {
  readonly scheduler: Pick<Scheduler, 'pauseKind' | 'resumeKind'>;
  readonly commits: Pick<CommitPipeline, 'saveControls' | 'flushed'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Controls of this unit are stored under this prefix, the kind after it. */
const KEY_PREFIX = 'pause/kind/';

/**
 * Pause and resume per kind (issue #18): a paused kind's pending tasks keep their places,
 * nothing of it starts, running ones finish. Each pause is a stored control, so it holds
 * across restarts and failovers; it takes effect at once in the scheduler, and the caller
 * is answered once it is saved.
 */
export class KindPauses {
  private readonly pauses = new Map<string, KindPause>();

  constructor(private readonly deps: KindPausesDeps) {}

  /** Re-applies stored pauses at start; returns the controls that are not this unit's. */
  restore(controls: readonly { key: string; value: string }[]): { key: string; value: string }[] {
    const others: { key: string; value: string }[] = [];
    for (const control of controls) {
      if (!control.key.startsWith(KEY_PREFIX)) {
        others.push(control);
        continue;
      }
      const kind = control.key.slice(KEY_PREFIX.length);
      // A value this leader cannot read still means paused (the safe side): a leader that
      // refused to start over it would stop the whole group.
      const sinceMs = readSinceMs(control.value);
      if (sinceMs === undefined) {
        this.deps.log.warn({ key: control.key }, 'stored pause unreadable; the kind stays paused');
      }
      this.pauses.set(kind, { kind, sinceMs: sinceMs ?? 0 });
      this.deps.scheduler.pauseKind(kind);
    }
    return others;
  }

  /** Pauses `kind`; says whether it changed anything (it may have been paused already). */
  async pause(kind: string): Promise<{ pause: KindPause; changed: boolean }> {
    checkKind(kind);
    const held = this.pauses.get(kind);
    if (held !== undefined) {
      // "Already paused" must not be said of a pause a crash could still lose: the answer
      // waits for the first pause's write.
      await this.deps.commits.flushed();
      return { pause: held, changed: false };
    }
    const pause = { kind, sinceMs: this.deps.clock.nowMs() };
    this.pauses.set(kind, pause);
    this.deps.scheduler.pauseKind(kind);
    await this.deps.commits.saveControls([control(kind, pause)]);
    this.deps.log.info({ kind }, 'kind paused');
    return { pause, changed: true };
  }

  /** Resumes `kind`; says whether it was paused. Its queued tasks are offered at once. */
  async resume(kind: string): Promise<{ changed: boolean }> {
    checkKind(kind);
    if (!this.pauses.delete(kind)) {
      // As for pause: "not paused" waits for an earlier resume's write.
      await this.deps.commits.flushed();
      return { changed: false };
    }
    this.deps.scheduler.resumeKind(kind);
    await this.deps.commits.saveControls([control(kind, undefined)]);
    this.deps.log.info({ kind }, 'kind resumed');
    this.deps.assignment.request();
    return { changed: true };
  }

  /** Every paused kind, by name. */
  list(): KindPause[] {
    return [...this.pauses.values()].sort((a, b) => (a.kind < b.kind ? -1 : 1));
  }
}

function control(kind: string, pause: KindPause | undefined): StoredControl {
  return {
    key: `${KEY_PREFIX}${kind}`,
    value: pause === undefined ? undefined : JSON.stringify({ sinceMs: pause.sinceMs }),
  };
}

function readSinceMs(value: string): number | undefined {
  try {
    const sinceMs = (JSON.parse(value) as { sinceMs?: unknown } | null)?.sinceMs;
    return typeof sinceMs === 'number' && Number.isFinite(sinceMs) ? sinceMs : undefined;
  } catch {
    return undefined;
  }
}
