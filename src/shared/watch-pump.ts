/**
 * Where a watch writes: a gRPC server stream or an HTTP response, seen through what the
 * pump needs of it.
 */
export interface WatchSink<M> {
  /** Writes one message; false when the transport wants the writer to wait for 'drain'. */
  write(message: M): boolean;
  /** Calls `callback` once, when the transport can take more. */
  onceDrained(callback: () => void): void;
  /** How much waits in the transport now, in the unit `maxWaiting` is given in. */
  waiting(): number;
}

/**
 * Shares the event loop among all watches: pumps that have more to write queue here, and
 * one deferred run per turn lets them write in order until a time budget is spent, then
 * yields. However many watches render snapshots at once, a turn spends at most about
 * `budgetMs` on them, so heartbeats and calls are never kept waiting behind watch work.
 */
export class WatchTurns {
  private readonly ready: (() => void)[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly deps: {
      defer: (fn: () => void) => void;
      nowMs: () => number;
      budgetMs: number;
    },
  ) {}

  /** Runs `work` on a later turn, after the work queued before it. */
  request(work: () => void): void {
    this.ready.push(work);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.deps.defer(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const until = this.deps.nowMs() + this.deps.budgetMs;
    // Bounded: only the work queued when the turn began runs in it.
    const end = this.ready.length;
    while (this.head < end) {
      const work = this.ready[this.head]!;
      this.ready[this.head++] = noop;
      work();
      if (this.deps.nowMs() >= until) break;
    }
    if (this.head >= this.ready.length) {
      this.ready.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.ready.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.ready.length) this.schedule();
  }
}

function noop(): void {}

/** Bounds on one watch's memory. */
export interface WatchPumpLimits {
  /** Changes held while the snapshot is still going out; one more ends the watch. */
  readonly maxQueued: number;
  /** What may wait in the transport once live (sink units); more ends the watch. */
  readonly maxWaiting: number;
  /** Messages one pump writes before it queues for another turn (see WatchTurns). */
  readonly perTurn: number;
}

/** Default bounds: see the README's limits table. */
export const WATCH_PUMP_LIMITS: WatchPumpLimits = {
  maxQueued: 2_000,
  maxWaiting: 2_000,
  perTurn: 32,
};

/**
 * Sends a watch: the snapshot, the end-of-snapshot marker, then changes. The snapshot is
 * an iterable that is rendered as it is written, never all at once, and writing waits for
 * the transport to drain, so a reader that does not read costs the leader a transport
 * buffer and not a copy of the task list. Changes that come while the snapshot is going out
 * are queued (at most `maxQueued`) and sent after the marker, in order; a snapshot item may
 * therefore already show a state that a queued change repeats, and the last message about
 * an item is always its current state.
 *
 * A reader that falls too far behind is ended through `overflow` (the adapter says how).
 * Writing happens in `turns`, shared by all watches.
 */
export class WatchPump<M> {
  private readonly queue: M[] = [];
  private queueHead = 0;
  private live = false;
  private stopped = false;
  private waitingForDrain = false;
  private endWhenFlushed = false;
  private iterator: Iterator<M> | undefined;
  private marker: M | undefined;

  constructor(
    private readonly sink: WatchSink<M>,
    private readonly limits: WatchPumpLimits,
    private readonly handlers: {
      /** The reader fell too far behind; end the watch with an error. */
      overflow: () => void;
      /** Everything was sent after `end()`; end the watch normally. */
      done: () => void;
      turns: Pick<WatchTurns, 'request'>;
    },
  ) {}

  /** Starts sending: `snapshot` item by item, then `marker` (if any), then changes. */
  start(snapshot: Iterable<M>, marker: M | undefined): void {
    this.iterator = snapshot[Symbol.iterator]();
    this.marker = marker;
    this.handlers.turns.request(() => this.pump());
  }

  /** A change: queued while the snapshot goes out, written at once afterwards. */
  push(message: M): void {
    if (this.stopped) return;
    if (!this.live) {
      if (this.queue.length - this.queueHead >= this.limits.maxQueued) {
        this.overflow();
        return;
      }
      this.queue.push(message);
      return;
    }
    if (this.sink.waiting() > this.limits.maxWaiting) {
      this.overflow();
      return;
    }
    this.sink.write(message);
  }

  /** No more changes will come: end once everything queued has been written. */
  end(): void {
    if (this.stopped) return;
    this.endWhenFlushed = true;
    if (this.live) this.finish();
  }

  /** Stops for good (the watch ended some other way); nothing more is written. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.iterator = undefined;
  }

  private pump(): void {
    // Bounded per call by perTurn; later turns come through drain or defer.
    for (let written = 0; !this.stopped && !this.waitingForDrain; written++) {
      if (written >= this.limits.perTurn) {
        this.handlers.turns.request(() => this.pump());
        return;
      }
      const next = this.nextMessage();
      if (next === undefined) {
        this.goLive();
        return;
      }
      if (!this.sink.write(next.message)) {
        // The last of the backlog is out: live from here (the transport holds the rest).
        if (this.iterator === undefined && this.marker === undefined && !this.hasQueued()) {
          this.goLive();
          return;
        }
        this.waitingForDrain = true;
        this.sink.onceDrained(() => {
          this.waitingForDrain = false;
          this.handlers.turns.request(() => this.pump());
        });
      }
    }
  }

  private goLive(): void {
    this.live = true;
    this.queue.length = 0;
    this.queueHead = 0;
    if (this.endWhenFlushed) this.finish();
  }

  private hasQueued(): boolean {
    return this.queueHead < this.queue.length;
  }

  private nextMessage(): { message: M } | undefined {
    if (this.iterator) {
      const item = this.iterator.next();
      if (!item.done) return { message: item.value };
      this.iterator = undefined;
      if (this.marker !== undefined) {
        const marker = this.marker;
        this.marker = undefined;
        return { message: marker };
      }
    }
    if (this.queueHead < this.queue.length) return { message: this.queue[this.queueHead++]! };
    return undefined;
  }

  private overflow(): void {
    this.stop();
    this.handlers.overflow();
  }

  private finish(): void {
    this.stop();
    this.handlers.done();
  }
}
