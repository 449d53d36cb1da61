import type { Logger } from 'pino';
import type { Need } from './roles.js';

/** Refusals logged per second at most; the rest are counted and told in one line. */
export const REFUSALS_LOGGED_PER_SECOND = 10;

/**
 * Calls that schedule work: many per second in normal use, so not one audit line each
 * (the task's own "task scheduled" line is there at debug).
 */
const SCHEDULES = /\/Schedule\w*$|^POST \/v1\/tasks$|start-job$|^POST \/start$/;

/**
 * Who did what, with tokens on (issue #20): every admitted call that changes the cluster
 * other than scheduling (cancel, delete, retry, complete by hand, and every admin call:
 * drain, pause, limits, cron) gets an info line naming the token, never the token itself;
 * refusals get a warn line, at most {@link REFUSALS_LOGGED_PER_SECOND} per second so a
 * client trying tokens cannot flood the log (the lines held back are counted and told).
 */
export class AuditLog {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private refusalsInWindow = 0;
  private heldBack = 0;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * A call passed the check: `who` is the token's name (or the admitted certificate),
   * `action` the RPC path or HTTP route pattern, `url` (HTTP) the path it was called on.
   */
  admitted(who: string, need: Need, action: string, peer: string, url?: string): void {
    if (this.heldBack > 0) this.nextWindow(this.now());
    if (need === 'admin' || (need === 'write' && !SCHEDULES.test(action))) {
      const where = url === undefined ? {} : { url: url.slice(0, 300) };
      this.logger.info({ audit: true, who, action, ...where, peer }, 'call admitted');
    }
  }

  /** A call was refused (401 or 403, UNAUTHENTICATED or PERMISSION_DENIED). */
  refused(action: string, peer: string, reason: string): void {
    this.nextWindow(this.now());
    if (this.refusalsInWindow >= REFUSALS_LOGGED_PER_SECOND) {
      this.heldBack++;
      return;
    }
    this.refusalsInWindow++;
    this.logger.warn({ audit: true, action: action.slice(0, 300), peer, reason }, 'call refused');
  }

  /** Starts a new second once the last is over, telling how many refusals it held back. */
  private nextWindow(nowMs: number): void {
    if (nowMs - this.windowStartMs < 1000) return;
    if (this.heldBack > 0) {
      this.logger.warn(
        { audit: true, count: this.heldBack },
        'more calls were refused than logged one by one',
      );
    }
    this.windowStartMs = nowMs;
    this.refusalsInWindow = 0;
    this.heldBack = 0;
  }
}
