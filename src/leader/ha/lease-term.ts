/**
 * This leader's hold on the lease, as its own monotonic clock sees it: pure, so the
 * step-down rule is unit-tested with a fake clock.
 *
 * Safety: PostgreSQL sets the lease's expiry to *its* now() + leaseMs when it runs the
 * renewal, which is after this leader sent it. Counting the lease from the moment the
 * renewal was sent therefore ends it here no later than in PostgreSQL (clock rates being
 * equal), so this leader stops acting before a standby may take the lease. Fencing makes
 * even a late leader harmless; this makes it rare.
 */
export class LeaseTerm {
  private deadlineMs: number;

  /** `sentAtMs`: when the acquiring statement was sent, on the monotonic clock. */
  constructor(
    readonly term: number,
    private readonly leaseMs: number,
    sentAtMs: number,
  ) {
    this.deadlineMs = sentAtMs + leaseMs;
  }

  /** A renewal sent at `sentAtMs` succeeded: the lease runs leaseMs from then. */
  renewed(sentAtMs: number): void {
    // Renewals may land out of order; a later deadline never moves back.
    this.deadlineMs = Math.max(this.deadlineMs, sentAtMs + this.leaseMs);
  }

  /** When this leader must have stopped, on the monotonic clock. */
  get stepDownAtMs(): number {
    return this.deadlineMs;
  }

  /** True once the lease may have passed to another leader. */
  isOver(nowMs: number): boolean {
    return nowMs >= this.deadlineMs;
  }
}
