import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../test/helpers/wait-for.js';
import { BenchCluster } from '../lib/drover-cluster.js';
import { cpuTimeMs, rssBytes } from '../lib/proc.js';
import { distribution, type Distribution } from '../lib/stats.js';

const MEMBER_LOAD = fileURLToPath(new URL('../member-load.mjs', import.meta.url));

/** What one leader did while holding `members` simulated members. */
export interface MemberScale {
  readonly members: number;
  /** Members the leader showed alive at the end of the window (all of them, if it held). */
  readonly aliveAtEnd: number;
  /** Leader CPU over the window, in cores (1.0 = one core busy all the time). */
  readonly leaderCpuCores: number;
  readonly leaderRssMiB: number;
  readonly bytesPerMember: number;
  readonly membersRpcMs: Distribution;
  readonly heartbeatsPerSec: number;
}

export interface MemberScaleSettings {
  readonly heartbeatIntervalMs: number;
  /** How long leader CPU is measured once every member is in. */
  readonly windowMs: number;
  readonly membersPerConnection: number;
  readonly membersCalls: number;
}

/**
 * Scale of membership: a fresh leader, a load process holding `members` members over real
 * heartbeat streams, then leader CPU over a window, memory per member (RSS now minus RSS
 * before the members came) and Members RPC latency.
 */
export async function droverMemberScale(
  members: number,
  settings: MemberScaleSettings,
): Promise<MemberScale> {
  const cluster = new BenchCluster();
  try {
    const interval = settings.heartbeatIntervalMs;
    await cluster.startLeader([
      '--heartbeat-interval-ms',
      String(interval),
      '--suspect-after-ms',
      String(interval * 2),
      '--dead-after-ms',
      String(interval * 3),
    ]);
    const api = cluster.clients;
    await api.members(); // warm the connection and the handler before the baseline
    const leaderPid = cluster.leader.pid;
    const baseRss = rssBytes(leaderPid);
    const load = cluster.spawnNode('member-load', MEMBER_LOAD, [
      cluster.address,
      String(members),
      String(settings.membersPerConnection),
      String(interval),
    ]);
    await load.waitForLine((l) => l.msg === 'members ready', 300_000);
    await waitFor(
      async () => (await api.members()).filter((m) => m.status === 'alive').length === members,
      { timeoutMs: 60_000, intervalMs: 250, what: `${members} members alive` },
    );
    // Let every member's heartbeat timer settle into its steady phase.
    await sleep(interval * 2);
    const cpuBefore = cpuTimeMs(leaderPid);
    const wallBefore = performance.now();
    await sleep(settings.windowMs);
    const cpuMs = cpuTimeMs(leaderPid) - cpuBefore;
    const wallMs = performance.now() - wallBefore;
    const rss = rssBytes(leaderPid);
    const rpcMs: number[] = [];
    let alive = 0;
    for (let i = 0; i < settings.membersCalls; i++) {
      const started = performance.now();
      const list = await api.members();
      rpcMs.push(performance.now() - started);
      alive = list.filter((m) => m.status === 'alive').length;
    }
    return {
      members,
      aliveAtEnd: alive,
      leaderCpuCores: round3(cpuMs / wallMs),
      leaderRssMiB: Math.round(rss / 2 ** 20),
      bytesPerMember: Math.round((rss - baseRss) / members),
      membersRpcMs: distribution(rpcMs),
      heartbeatsPerSec: Math.round((members * 1000) / interval),
    };
  } finally {
    await cluster.stop();
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
