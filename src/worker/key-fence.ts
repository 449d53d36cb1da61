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
    const before = this.deadlineMs;
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
    if (this.deadlineMs !== before) this.arm();
  }

  /** Why keyed attempts stop (or are refused) now. */
  reason(): string {
    const silentMs = this.provenAtMs === undefined ? 0 : this.deps.monotonicMs() - this.provenAtMs;
    return `fenced: the leader has not been shown to hear this worker for ${Math.round(silentMs)} ms, and may give the places of attempts with a concurrency key away`;
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
   * Whether an attempt with a concurrency key may start now: only before the deadline (a
   * start order read after it, from a message that waited in a socket while this process
   * was frozen, say, is refused). Always, with no fencing (an older leader).
   */
  allowsKeyed(): boolean {
    if (this.fenceAfterMs === 0) return true;
    const deadline = this.deadlineMs;
    return deadline !== undefined && this.deps.monotonicMs() < deadline;
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
        this.deps.fence(this.reason());
        // Fenced until a newer proof moves the deadline on (heard() arms the timer again);
        // meanwhile allowsKeyed() refuses keyed starts.
      },
      Math.max(0, deadline - this.deps.monotonicMs()),
      { weak: true },
    );
  }
}
