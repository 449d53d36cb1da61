import type { Timers } from '../timers.js';

/** After SIGTERM to a command's process group, how long until SIGKILL, by default. */
export const DEFAULT_KILL_GRACE_MS = 2_000;

/** Sends a signal to a process, or to a process group given as a negative id (`process.kill`). */
export type SendSignal = (pid: number, signal: NodeJS.Signals | 0) => void;

/** What a {@link ProcessGroup} needs; injected so escalation is tested without waiting. */
export interface ProcessGroupDeps {
  readonly kill: SendSignal;
  readonly timers: Timers;
  readonly killGraceMs: number;
  /** Called once the group is stopped: found empty, or sent SIGKILL after the grace. */
  readonly stopped?: () => void;
}

/**
 * The process group of a command spawned `detached` (its own session, so its pid is the
 * group id). Signals go to the whole group: killing only the command left what it forked
 * behind (`bash -c 'sleep 300 & ...'`), re-parented to init and holding its pipes (issue
 * #14). Children that start their own session (setsid, daemons) leave the group and are
 * out of reach, as with any process supervisor without cgroups.
 */
export class ProcessGroup {
  private terminating = false;

  constructor(
    private readonly pgid: number,
    private readonly deps: ProcessGroupDeps,
  ) {}

  /**
   * SIGTERM to every process of the group now, and SIGKILL to whatever is left after the
   * grace. Idempotent; does nothing when the group is already empty.
   */
  terminate(): void {
    if (this.terminating) return;
    this.terminating = true;
    if (!this.signal('SIGTERM')) return this.deps.stopped?.();
    this.deps.timers.setTimeout(() => {
      // Linux reuses no pid that is still a group id, so while anything of the command
      // is left this reaches only it; once the group is empty it (almost surely) finds nobody.
      this.signal('SIGKILL');
      this.deps.stopped?.();
    }, this.deps.killGraceMs);
  }

  /** Signals the group; false when no process is in it (or none may be signalled). */
  private signal(signal: NodeJS.Signals | 0): boolean {
    try {
      this.deps.kill(-this.pgid, signal);
      return true;
    } catch {
      // ESRCH: the group is empty. EPERM: all that is left changed user (setuid); either
      // way nothing more can be done from here.
      return false;
    }
  }
}
