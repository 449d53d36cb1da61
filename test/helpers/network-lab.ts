import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  private readonly tag: string;

  private constructor(
    private readonly subnet: number,
    private readonly claim: string,
  ) {
    this.tag = String(subnet);
    this.hostIp = `10.231.${subnet}.1`;
    this.bridge = `drvbr${this.tag}`;
    // We hold the claim, so anything under these names is left over from a crashed run.
    spawnSync('ip', ['link', 'del', this.bridge]);
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

  /**
   * Makes the bridge on a subnet (10.231.S.0/24) no other lab on this machine holds:
   * each claims its S with an exclusively created file, so labs in parallel test
   * processes never share addresses or interface names. A claim whose process is gone
   * is taken over.
   */
  static create(): NetworkLab {
    const start = process.pid % 200;
    for (let i = 0; i < 200; i++) {
      const subnet = 10 + ((start + i) % 200);
      const claim = join(tmpdir(), `drover-network-lab-${subnet}`);
      if (claimFile(claim)) return new NetworkLab(subnet, claim);
    }
    throw new Error('no free subnet for a network lab (200 claims held)');
  }

  /**
   * Adds namespace number `index` (from 0) with address 10.231.S.(index + 2) on the
   * bridge; returns the command prefix that runs a program inside it.
   */
  addNamespace(index: number): string[] {
    const ns = `drvns${this.tag}-${index}`;
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', this.hostEnd(index)]);
    const hostEnd = this.hostEnd(index);
    const nsEnd = `drvn${this.tag}x${index}`;
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
    unlinkSync(this.claim);
  }

  private hostEnd(index: number): string {
    return `drvh${this.tag}x${index}`;
  }
}

/** Creates `path` holding our pid; false if a live process holds it already. */
function claimFile(path: string): boolean {
  // Bounded: a stale claim is removed once, then created again or lost to another process.
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8'));
      if (owner > 0 && processAlive(owner)) return false;
      try {
        unlinkSync(path);
      } catch {
        // Another process took it over first.
      }
    }
  }
  return false;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
