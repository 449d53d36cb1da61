import { execFileSync, spawnSync } from 'node:child_process';

/**
 * A private network the test makes and removes itself: a bridge in the host namespace with
 * the leader's address, and one network namespace per worker joined to it by a veth pair.
 * Cutting a worker off takes its veth link down on the host side: its packets are dropped
 * silently (no RST, no FIN), which is what a real partition looks like to both ends.
 *
 * Needs root and iproute2; {@link NetworkLab.probe} says whether this machine allows it.
 */
export class NetworkLab {
  /** The leader's address on the bridge, for `--listen` and for clients. */
  readonly hostIp: string;
  private readonly bridge: string;
  private readonly namespaces: { name: string; index: number }[] = [];
  private destroyed = false;

  private constructor(
    private readonly tag: string,
    private readonly subnet: number,
  ) {
    this.hostIp = `10.231.${subnet}.1`;
    this.bridge = `drvbr${tag}`;
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.hostIp}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
  }

  /** Whether namespaces and veth pairs can be made here, and if not, why. */
  static probe(): { ok: true } | { ok: false; reason: string } {
    if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
    const name = `drvprobe${process.pid}`;
    const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
    if (add.error) return { ok: false, reason: `iproute2 missing (${add.error.message})` };
    if (add.status !== 0) return { ok: false, reason: `ip netns add failed: ${add.stderr.trim()}` };
    spawnSync('ip', ['netns', 'del', name]);
    return { ok: true };
  }

  /** Makes the bridge; names are unique to this process so parallel runs do not clash. */
  static create(): NetworkLab {
    const tag = (process.pid % 100_000).toString(36);
    return new NetworkLab(tag, 10 + (process.pid % 200));
  }

  /**
   * Adds namespace number `index` (from 0) with address 10.231.S.(index + 2) on the
   * bridge; returns the command prefix that runs a program inside it.
   */
  addNamespace(index: number): string[] {
    const ns = `drvns${this.tag}-${index}`;
    const hostEnd = this.hostEnd(index);
    const nsEnd = `drvn${this.tag}${index}`;
    ip('netns', 'add', ns);
    this.namespaces.push({ name: ns, index });
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd);
    ip('link', 'set', nsEnd, 'netns', ns);
    ip('link', 'set', hostEnd, 'master', this.bridge);
    ip('link', 'set', hostEnd, 'up');
    ip('-n', ns, 'addr', 'add', `10.231.${this.subnet}.${index + 2}/24`, 'dev', nsEnd);
    ip('-n', ns, 'link', 'set', nsEnd, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    return ['ip', 'netns', 'exec', ns];
  }

  /** Cuts namespace `index` off: its link goes down, every packet either way is lost. */
  cut(index: number): void {
    ip('link', 'set', this.hostEnd(index), 'down');
  }

  /** Reconnects namespace `index`. */
  heal(index: number): void {
    ip('link', 'set', this.hostEnd(index), 'up');
  }

  /** Removes the namespaces (and their veth pairs) and the bridge; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // The veth pair goes explicitly: a namespace outlives `netns del` while anything (a
    // socket in TIME_WAIT, say) still holds it, and would keep its pair's host end.
    for (const { name, index } of this.namespaces) {
      spawnSync('ip', ['link', 'del', this.hostEnd(index)]);
      spawnSync('ip', ['netns', 'del', name]);
    }
    spawnSync('ip', ['link', 'del', this.bridge]);
  }

  private hostEnd(index: number): string {
    return `drvh${this.tag}${index}`;
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
