import { systemTimers, type TimerHandle, type Timers } from './timers.js';

/** What the fence reads and drives. */
export interface KeyFenceDeps {
  /** Monotonic milliseconds: the fence measures durations, and wall time can jump. */
  readonly monotonicMs: () => number;
  readonly timers?: Timers;
  /** Stops every attempt with a concurrency key, saying why. */
  readonly fence: (reason: string) => void;
}

/** Most sends remembered between two answers (a heartbeat per batch of reports, under load). */
const MAX_SENDS = 10_000;

/**
 * The worker's half of keyed fencing (issue #18). The leader holds the places of a lost
 * worker's keyed attempts under their keys' limits until the dead timeout after it last
 * heard the worker; the worker must stop them before then. It knows when the leader last
 * heard it only from the leader's echo (HeartbeatResponse.heard_serial) of a heartbeat's
 * serial, so it remembers when each heartbeat went out: the echo of serial N proves the
 * leader heard the worker no earlier than N's send time, and `fenceAfterMs` after the latest
 * such proof (JoinResponse.fence_after_ms, the dead timeout less a margin) the attempts
 * stop. Measured on a monotonic clock, from send times (never later than the leader's
 * receipt), so the worker always stops first, however one-sided a cut is.
 */
export class KeyFence {
  private sends: { readonly serial: number; readonly atMs: number }[] = [];
  private nextSerial = 0;
  private fenceAfterMs = 0;
  private provenAtMs: number | undefined;
  private timer: TimerHandle | undefined;
  private readonly timers: Timers;

  constructor(private readonly deps: KeyFenceDeps) {
    this.timers = deps.timers ?? systemTimers;
  }

  /** A new stream: serials start again; `fenceAfterMs` 0 (an older leader) fences nothing. */
  streamOpened(fenceAfterMs: number): void {
    this.sends = [];
    this.nextSerial = 0;
    this.fenceAfterMs = fenceAfterMs;
    // The last proof stands across streams: it is what the leader's hold runs from.
    this.arm();
  }

  /** The serial of the next heartbeat on this stream, remembered with its send time. */
  nextSend(): number {
    const serial = ++this.nextSerial;
    if (this.sends.length >= MAX_SENDS) this.sends.shift();
    this.sends.push({ serial, atMs: this.deps.monotonicMs() });
    return serial;
  }

  /** The leader echoed `serial`: it heard this worker no earlier than that send. */
  heard(serial: number): void {
    if (serial === 0) return;
    let provenAtMs: number | undefined;
    let drop = 0;
    while (drop < this.sends.length && this.sends[drop]!.serial <= serial) {
      if (this.sends[drop]!.serial === serial) provenAtMs = this.sends[drop]!.atMs;
      drop++;
    }
    this.sends.splice(0, drop);
    // A send too old to be remembered proves nothing: the fence may only come earlier.
    if (provenAtMs === undefined) return;
    if (this.provenAtMs === undefined || provenAtMs > this.provenAtMs) this.provenAtMs = provenAtMs;
    this.arm();
  }

  /** No more fencing (the worker stops). */
  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.fenceAfterMs = 0;
  }

  /** When keyed attempts must stop, or undefined if nothing says so yet. */
  get deadlineMs(): number | undefined {
    if (this.fenceAfterMs === 0 || this.provenAtMs === undefined) return undefined;
    return this.provenAtMs + this.fenceAfterMs;
  }

  /**
   * One timer, for the deadline: on firing it checks again (answers may have moved the
   * deadline on) and either fences or waits for the rest. Armed only when none is set, so
   * the answers that come ten times a second cost no timer churn.
   */
  private arm(): void {
    if (this.timer !== undefined) return;
    const deadline = this.deadlineMs;
    if (deadline === undefined) return;
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        const now = this.deps.monotonicMs();
        const at = this.deadlineMs;
        if (at === undefined) return;
        if (now < at) return this.arm();
        this.deps.fence(
          `the leader has not been heard to hear this worker for ${Math.round(now - this.provenAtMs!)} ms: attempts with a concurrency key stop, as the leader may give their places away`,
        );
        // Fenced until a new proof comes: the next answer arms the timer again.
        this.provenAtMs = undefined;
      },
      Math.max(0, deadline - this.deps.monotonicMs()),
      { weak: true },
    );
  }
}
