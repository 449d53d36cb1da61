import { TooManyError } from '../shared/errors.js';
import type { WatchAdmission } from '../shared/grpc-watch.js';
import type { WatchTurns } from '../shared/watch-pump.js';

/** How many watches (gRPC watches, SSE streams, output follows) the leader keeps open. */
export interface WatchLimits {
  /** In all. */
  readonly total: number;
  /** From one client address. */
  readonly perClient: number;
}

/**
 * Counts open watches, in all and per client address, and refuses one more than the
 * limits allow: each open watch holds a transport buffer and a queue, so the count is
 * what bounds the memory all watchers can take together.
 */
export class WatchLimiter implements WatchAdmission {
  private open = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    private readonly limits: WatchLimits,
    /** Shared by every watch's writes; see WatchTurns. */
    readonly turns: Pick<WatchTurns, 'request'>,
  ) {}

  /** Admits one watch for `client`; the returned release must be called exactly once. */
  admit(client: string): () => void {
    const mine = this.byClient.get(client) ?? 0;
    if (this.open >= this.limits.total) {
      throw new TooManyError(
        `too many watches open on the leader (the most is ${this.limits.total}); close one and watch again`,
      );
    }
    if (mine >= this.limits.perClient) {
      throw new TooManyError(
        `too many watches open from ${client} (the most per client is ${this.limits.perClient}); close one and watch again`,
      );
    }
    this.open++;
    this.byClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left === 0) this.byClient.delete(client);
      else this.byClient.set(client, left);
    };
  }

  /** Watches open now. */
  get size(): number {
    return this.open;
  }
}
