import { usableHint } from '../client/leader-rotation.js';

/** Leaders named by refusals that one command follows at most, beyond the listed ones. */
export const MAX_HINT_HOPS = 2;

/**
 * The leaders one CLI command tries, in order: the one a refusal named (a hop), else the
 * next listed one not tried yet. Each listed leader gets one try (a hop to it counts as
 * its try) and at most MAX_HINT_HOPS hops go elsewhere, so a command given leaders that
 * name each other (stale views during a takeover) still ends: at most `addresses.length +
 * MAX_HINT_HOPS` tries. Pure.
 */
export class LeaderTries {
  private readonly untried: string[];
  private readonly visited: string[] = [];
  private hops = 0;

  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('no leader address given');
    this.untried = [...addresses];
  }

  /** The first leader to try. */
  first(): string {
    return this.visit(this.untried.shift()!);
  }

  /**
   * The leader to try after `failed` was unreachable or refused, naming `hint` as the
   * active leader or not; undefined once every listed leader had its try and the hops
   * are spent.
   */
  after(failed: string, hint: string | undefined): string | undefined {
    const to = usableHint(failed, hint);
    if (to !== undefined) {
      const listed = this.untried.indexOf(to);
      if (listed >= 0) {
        this.untried.splice(listed, 1);
        return this.visit(to);
      }
      if (this.hops < MAX_HINT_HOPS) {
        this.hops++;
        return this.visit(to);
      }
    }
    const next = this.untried.shift();
    return next === undefined ? undefined : this.visit(next);
  }

  /**
   * The leader to name in an error after `last` failed: `last` alone when it was the only
   * try (the message a single --leader always gave), else with every leader tried.
   */
  describe(last: string): string {
    return this.visited.length <= 1 ? last : `${last} (tried ${this.visited.join(', ')})`;
  }

  private visit(address: string): string {
    this.visited.push(address);
    return address;
  }
}
