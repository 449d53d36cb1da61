/**
 * Runs `work` at most once per event-loop turn, however many events ask for it in that turn:
 * assignment and member-change notices are coalesced this way rather than run per event.
 * `defer` is injected (LeaderTimers.defer) so tests run the turn by hand.
 */
export class OncePerTurn {
  private requested = false;
  private stopped = false;

  constructor(
    private readonly defer: (fn: () => void) => void,
    private readonly work: () => void,
  ) {}

  /** Asks for `work` on a later turn; a no-op if already asked this turn, or stopped. */
  request(): void {
    if (this.requested || this.stopped) return;
    this.requested = true;
    this.defer(() => {
      this.requested = false;
      if (!this.stopped) this.work();
    });
  }

  /** No more runs, not even one already requested. */
  stop(): void {
    this.stopped = true;
  }
}
