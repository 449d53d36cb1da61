/** Backoff and give-up settings for reaching the leader. */
export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Stop trying (and fail) after this long without a leader. */
  readonly giveUpAfterMs: number;
}

/**
 * A heartbeat stream that lived less than this counts as a failed round for backoff. A
 * leader that ends every stream at once (a message it refuses, say) otherwise saw the
 * worker rejoin in a tight loop: 218 joins in 10 s (issue #14).
 */
export const STABLE_STREAM_MS = 2_000;

/**
 * Delay before the next join after `failures` failed rounds in a row: none after a good
 * round, else full jitter over a capped exponential (a leader restart must not see every
 * worker reconnect in lockstep). `random` is in [0, 1).
 */
export function reconnectDelayMs(
  failures: number,
  policy: ReconnectPolicy,
  random: () => number,
): number {
  if (failures <= 0) return 0;
  // The exponent is capped so 2 ** failures cannot overflow to Infinity on a long outage.
  const capMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(failures, 30));
  return random() * capMs;
}

/** Whether a round that held a stream for `streamMs` resets the failure count. */
export function streamWasStable(streamMs: number): boolean {
  return streamMs >= STABLE_STREAM_MS;
}

/** The longest wait between rounds while standbys answer (full jitter below it). */
export const STANDBY_RETRY_MAX_MS = 500;

/**
 * How long after a standby's refusal rounds stay short: two default leases, time enough
 * for a standby to take over from a frozen leader.
 */
export const STANDBY_WINDOW_MS = 10_000;

/** What the link does after a round: wait and join again, or give up on the leader. */
export type ReconnectStep =
  | { readonly giveUp: false; readonly delayMs: number }
  | {
      readonly giveUp: true;
      readonly silentMs: number;
      /** Why the last round failed, as the link put it. */
      readonly lastFailure: string | undefined;
    };

/**
 * The reconnect policy's state across rounds (a round: one Join, and its stream if the
 * Join succeeded). Pure: the caller passes the time of each event (monotonic ms) and the
 * jitter source, and runs the waiting itself, so tests drive it without waiting.
 */
export class ReconnectSchedule {
  private failuresInARow = 0;
  private lastContactMs: number;
  /** Whether the last step was a hop to a hinted leader taken without waiting. */
  private hoppedAtOnce = false;
  /** Whether a live standby refused since the last step. */
  private refusedByStandby = false;
  /** When a standby last refused (monotonic ms), if ever. */
  private standbySeenAtMs: number | undefined;
  /** Why the last failed round failed (for the give-up message). */
  private lastFailure: string | undefined;

  /** `startedAtMs` counts as contact: the give-up deadline runs from the start. */
  constructor(
    private readonly policy: ReconnectPolicy,
    startedAtMs: number,
    private readonly random: () => number,
  ) {
    this.lastContactMs = startedAtMs;
  }

  /** Failed rounds in a row (a stream that ended at once counts as one). */
  get failures(): number {
    return this.failuresInARow;
  }

  /** A leader accepted the Join at `nowMs`. */
  joined(nowMs: number): void {
    this.lastContactMs = nowMs;
  }

  /**
   * The stream of a successful Join ended at `nowMs` after `lastedMs`. A stream the leader
   * ends at once is no success: back off as after a failure.
   */
  streamEnded(nowMs: number, lastedMs: number): void {
    this.lastContactMs = nowMs;
    this.failuresInARow = streamWasStable(lastedMs) ? 0 : this.failuresInARow + 1;
  }

  /**
   * No leader accepted the Join this round. `byStandby`: a live standby refused it, so a
   * take-over is under way (a lease runs out within seconds): retry soon, not after the
   * long backoff an unreachable leader earns.
   */
  failed(byStandby = false, why?: string): void {
    this.failuresInARow++;
    this.refusedByStandby ||= byStandby;
    this.lastFailure = why;
  }

  /**
   * The step after a round ending at `nowMs`: give up once no leader answered for more
   * than `giveUpAfterMs`, else wait the backoff delay (draws jitter only when it backs off).
   * A round that ended naming the active leader (`hinted`: a standby's refusal, a stream
   * ended by one stepping down) goes there at once, unless that round was itself such a
   * hop: leaders naming each other (stale views during a takeover) then cost one backoff
   * wait per two rounds instead of a loop without pause.
   */
  next(nowMs: number, hinted = false): ReconnectStep {
    const silentMs = nowMs - this.lastContactMs;
    if (silentMs > this.policy.giveUpAfterMs) {
      return { giveUp: true, silentMs, lastFailure: this.lastFailure };
    }
    this.hoppedAtOnce = hinted && !this.hoppedAtOnce;
    if (this.refusedByStandby) this.standbySeenAtMs = nowMs;
    this.refusedByStandby = false;
    if (this.hoppedAtOnce) return { giveUp: false, delayMs: 0 };
    // While standbys answer, a take-over is under way: every address of the list (a dead
    // old leader included) is retried soon, not after the backoff an outage earns.
    const takingOver =
      this.standbySeenAtMs !== undefined && nowMs - this.standbySeenAtMs <= STANDBY_WINDOW_MS;
    const policy = takingOver
      ? { ...this.policy, maxDelayMs: Math.min(this.policy.maxDelayMs, STANDBY_RETRY_MAX_MS) }
      : this.policy;
    // Never waits past the give-up deadline: one last round just after it, then give up.
    const untilGiveUpMs = this.policy.giveUpAfterMs - silentMs + 1;
    return {
      giveUp: false,
      delayMs: Math.min(reconnectDelayMs(this.failuresInARow, policy, this.random), untilGiveUpMs),
    };
  }
}
