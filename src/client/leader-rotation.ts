import { formatHostPort, parseHostPort } from '../shared/net.js';

/**
 * Leader addresses from an option: an array, or one string that may be a comma list (as
 * `--leader` and DROVER_LEADER take), trimmed, empty entries dropped.
 */
export function leaderList(leader: string | readonly string[]): string[] {
  const entries = typeof leader === 'string' ? leader.split(',') : leader;
  return entries.map((entry) => entry.trim()).filter((entry) => entry !== '');
}

/**
 * The address a refusal at `from` names as the active leader, in host:port form, when it is
 * worth moving to: undefined without a hint, for one that is no host:port (it came from
 * the wire), and for one naming `from` itself (going back there gains nothing).
 */
export function usableHint(from: string, hint: string | undefined): string | undefined {
  if (hint === undefined) return undefined;
  let address: string;
  try {
    address = formatHostPort(parseHostPort(hint));
  } catch {
    return undefined;
  }
  return address === from ? undefined : address;
}

/**
 * Which leader a client that keeps going (a worker, a producer) tries next: the one the
 * last refusal named, else the configured list in turn, round and round. Pure: whoever
 * holds it decides when to move, and how long to wait first.
 */
export class LeaderRotation {
  private readonly addresses: readonly string[];
  /** Index in `addresses` of the next listed leader to try. */
  private nextIndex = 0;
  private hinted: string | undefined;

  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('no leader address given');
    this.addresses = [...addresses];
  }

  /** The leader to try now: a hinted one first (once), else the next listed one. */
  take(): string {
    const hinted = this.hinted;
    if (hinted !== undefined) {
      this.hinted = undefined;
      return hinted;
    }
    const address = this.addresses[this.nextIndex]!;
    this.nextIndex = (this.nextIndex + 1) % this.addresses.length;
    return address;
  }

  /**
   * A try at `from` ended naming `hint` as the active leader: the next {@link take} returns
   * it. Returns the address it will go to, or undefined when the hint is not usable (see
   * {@link usableHint}) and the list goes on as before.
   */
  follow(from: string, hint: string | undefined): string | undefined {
    const to = usableHint(from, hint);
    if (to === undefined) return undefined;
    this.hinted = to;
    const listed = this.addresses.indexOf(to);
    // A listed leader counts as this turn's: if it fails too, the list goes on after it
    // rather than back to one just tried. An unlisted one leaves the list where it was.
    if (listed >= 0) this.nextIndex = (listed + 1) % this.addresses.length;
    return to;
  }
}

/**
 * One connection at a time to the leaders listed, moved by {@link LeaderRotation}: what a
 * producer and the CLI's `--wait` hold. `open` makes the connection to an address.
 */
export class FollowedConnection<C extends { close(): void }> {
  private readonly rotation: LeaderRotation;
  private at: string;
  private connection: C;

  constructor(
    addresses: readonly string[],
    private readonly open: (address: string) => C,
  ) {
    this.rotation = new LeaderRotation(addresses);
    this.at = this.rotation.take();
    this.connection = open(this.at);
  }

  /** The connection to the current leader. */
  get current(): C {
    return this.connection;
  }

  /** The current leader's address. */
  get address(): string {
    return this.at;
  }

  /**
   * A call on `from` failed with UNAVAILABLE, naming `hint` as the active leader, if any:
   * later calls go to it, else to the next listed. Nothing if the connection has moved
   * from `from` already (another caller moved it), or when it would come back to `from`
   * (one leader listed: its connection is kept).
   */
  move(hint: string | undefined, from = this.at): void {
    if (from !== this.at) return;
    this.rotation.follow(from, hint);
    const next = this.rotation.take();
    if (next === from) return;
    this.connection.close();
    this.at = next;
    this.connection = this.open(next);
  }

  close(): void {
    this.connection.close();
  }
}
