import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { taskDraft } from '../../src/client/task-draft.js';
import { SchedulerServiceClient } from '../../src/gen/scheduler/v1/scheduler.js';
import { TaskStatus, TestClients } from '../../test/helpers/grpc-clients.js';
import { NetworkLab } from '../../test/helpers/network-lab.js';
import { PrivatePostgres } from '../../test/helpers/private-postgres.js';
import { Cluster, DROVER_BIN, type DroverProcess } from '../../test/helpers/processes.js';
import { seededRandom } from '../../test/helpers/seeded-random.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { progress } from '../lib/progress.js';
import { atSteadyRate } from '../lib/steady-rate.js';
import { extras, injectProcessFault, type ProcessFaultKind } from '../lib/process-fault.js';
import {
  chaosTaskId,
  checkOutput,
  isLoggingTask,
  LOGGING_MS,
  type OutputCheck,
} from './output-check.js';

/** A fault the run does to the active leader. */
export type LeaderFaultKind = Exclude<ProcessFaultKind, 'stop'>;

/** What a leader chaos run does; every loop in it is bounded by these. */
export interface LeaderChaosSettings {
  readonly durationMs: number;
  readonly leaders: number;
  readonly workers: number;
  readonly slots: number;
  readonly ratePerSec: number;
  readonly taskMs: readonly [number, number];
  /** Pause after the group recovered before the next fault. */
  readonly quietMs: readonly [number, number];
  /** How long a freeze or cut lasts; a killed leader restarts after the lower bound. */
  readonly faultHoldMs: readonly [number, number];
  readonly seed: number;
  readonly leaderFlags: readonly string[];
  readonly settleTimeoutMs: number;
}

/** One fault of the active leader and how the group got over it. */
export interface LeaderFaultRecord {
  readonly kind: LeaderFaultKind;
  readonly leader: number;
  readonly heldMs: number;
  /** Fault to another leader logging that it took over. */
  readonly takeoverMs: number | undefined;
  /** Fault to the first task a worker started after it. */
  readonly firstStartMs: number | undefined;
}

/** The outcome: counts that must be zero, and how fast the group recovered. */
export interface LeaderChaosReport {
  readonly settings: LeaderChaosSettings;
  readonly cutsSkipped: string | undefined;
  readonly scheduled: number;
  readonly refusedSchedules: number;
  readonly completed: number;
  readonly lost: number;
  readonly failed: number;
  /** Tasks completed by more than one leader incarnation's log, or twice by one: must be 0. */
  readonly duplicateCompletions: number;
  /** (task, attempt) pairs started more than once on workers: must be 0. */
  readonly sameAttemptRunTwice: number;
  readonly faults: Record<LeaderFaultKind, number>;
  readonly takeoverMs: Record<LeaderFaultKind, Distribution>;
  readonly firstStartMs: Record<LeaderFaultKind, Distribution>;
  readonly faultLog: readonly LeaderFaultRecord[];
  /** The logging tasks' output after the run (every tenth task logs its progress). */
  readonly output: OutputCheck;
}

interface LeaderSlot {
  readonly index: number;
  readonly prefix: string[];
  /** host:port it serves on (kept across restarts). */
  address: string;
  process: DroverProcess;
  readonly incarnations: DroverProcess[];
}

/**
 * Several leaders on one PostgreSQL (a private server on the lab's bridge), workers given
 * every leader, and a steady stream of tasks while the active leader is killed (and
 * restarted on its address), frozen, or cut off from everything (its namespace's link
 * down). Real processes throughout; counts come from the task list and the logs.
 */
export async function runLeaderChaos(settings: LeaderChaosSettings): Promise<LeaderChaosReport> {
  const random = seededRandom(settings.seed);
  const between = ([lo, hi]: readonly [number, number]): number =>
    Math.round(lo + random() * (hi - lo));
  const probe = NetworkLab.probe();
  const lab = probe.ok ? NetworkLab.create() : undefined;
  const server = await PrivatePostgres.create(
    lab ? { listen: lab.hostIp, trust: '10.231.0.0/16' } : undefined,
  );
  const cluster = new Cluster();
  const leaders: LeaderSlot[] = [];
  const records: LeaderFaultRecord[] = [];
  try {
    const dbHost = lab?.hostIp ?? '127.0.0.1';
    const spawnLeader = async (slot: LeaderSlot): Promise<void> => {
      const proc = cluster.spawnScript(
        `leader-${slot.index}`,
        DROVER_BIN,
        [
          'leader',
          '--store',
          'postgres',
          '--database-url',
          server.url(dbHost),
          '--listen',
          slot.address,
          '--no-http',
          '--log-level',
          'debug',
          ...(lab ? ['--allow-insecure', '--no-auth'] : []),
          ...settings.leaderFlags,
        ],
        slot.prefix,
      );
      const line = await proc.waitForLine((l) => l.msg === 'leader listening', 15_000);
      slot.address = (line['addresses'] as string[])[0]!;
      slot.process = proc;
      slot.incarnations.push(proc);
    };
    for (let index = 0; index < settings.leaders; index++) {
      const prefix = lab?.addNamespace(index) ?? [];
      const ip = lab ? lab.hostIp.replace(/\.1$/, `.${index + 2}`) : '127.0.0.1';
      const slot = { index, prefix, address: `${ip}:0`, incarnations: [] } as unknown as LeaderSlot;
      await spawnLeader(slot);
      leaders.push(slot);
    }
    const addresses = () => leaders.map((l) => l.address);
    await waitFor(() => activeLeader(leaders) !== undefined || undefined, {
      timeoutMs: 15_000,
      what: 'a leader active',
    });
    const workers: DroverProcess[] = [];
    for (let i = 1; i <= settings.workers; i++) {
      workers.push(
        await cluster.startWorker(addresses().join(','), `w${i}`, [
          '--slots',
          String(settings.slots),
          '--log-level',
          'debug',
        ]),
      );
    }
    progress(
      `leader chaos: ${settings.leaders} leaders${lab ? ' in network namespaces' : ''}, ` +
        `${settings.workers} workers, ${settings.ratePerSec} tasks/s for ${settings.durationMs / 1000} s`,
    );

    const endAtMs = Date.now() + settings.durationMs;
    const acked: string[] = [];
    let refused = 0;
    const producing = produce(addresses(), settings, random, endAtMs, acked, () => refused++);
    const kinds: LeaderFaultKind[] = lab ? ['kill', 'freeze', 'cut'] : ['kill', 'freeze'];
    // Bounded: one fault per pass until the end of the run.
    while (Date.now() < endAtMs) {
      await sleep(between(settings.quietMs));
      if (Date.now() >= endAtMs) break;
      const active = activeLeader(leaders);
      if (!active) continue;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const heldMs = between(settings.faultHoldMs);
      records.push(
        await faultAndRecover(kind, active, heldMs, settings, lab, leaders, workers, spawnLeader),
      );
    }
    await producing;
    progress(`leader chaos: ${records.length} faults; waiting for the task list to settle`);

    const tasks = await settle(leaders, settings.settleTimeoutMs);
    let completed = 0;
    let failed = 0;
    for (const id of acked) {
      const state = tasks.get(id);
      if (state === TaskStatus.TASK_STATUS_COMPLETED) completed++;
      else if (state === TaskStatus.TASK_STATUS_ERROR) failed++;
    }
    const logging = acked.filter(
      (id) => isLoggingTask(id) && tasks.get(id) === TaskStatus.TASK_STATUS_COMPLETED,
    );
    const reader = activeLeader(leaders);
    const output = reader
      ? await checkOutput(reader.address, logging)
      : { tasks: 0, linesMissing: 0, linesDuplicated: 0, unread: logging.length };
    const leaderLines = leaders.flatMap((l) => l.incarnations.flatMap((p) => p.lines));
    const workerLines = workers.flatMap((w) => w.lines);
    const byKind = (pick: (r: LeaderFaultRecord) => number | undefined) =>
      Object.fromEntries(
        (['kill', 'freeze', 'cut'] as const).map((kind) => [
          kind,
          distribution(
            records
              .filter((r) => r.kind === kind)
              .map(pick)
              .filter((v): v is number => v !== undefined),
          ),
        ]),
      ) as Record<LeaderFaultKind, Distribution>;
    return {
      settings,
      cutsSkipped: probe.ok ? undefined : probe.reason,
      scheduled: acked.length,
      refusedSchedules: refused,
      completed,
      lost: acked.length - completed - failed,
      failed,
      duplicateCompletions: extras(
        leaderLines.filter((l) => l.msg === 'task completed').map((l) => l['taskId']),
      ),
      sameAttemptRunTwice: extras(
        workerLines
          .filter((l) => l.msg === 'task started')
          .map((l) => `${String(l['taskId'])}#${String(l['attempt'])}`),
      ),
      faults: {
        kill: records.filter((r) => r.kind === 'kill').length,
        freeze: records.filter((r) => r.kind === 'freeze').length,
        cut: records.filter((r) => r.kind === 'cut').length,
      },
      takeoverMs: byKind((r) => r.takeoverMs),
      firstStartMs: byKind((r) => r.firstStartMs),
      faultLog: records,
      output,
    };
  } finally {
    await cluster.stop();
    lab?.destroy();
    await server.destroy();
  }
}

/** The leader whose latest role line says it is active, if any. */
function activeLeader(leaders: readonly LeaderSlot[]): LeaderSlot | undefined {
  return leaders.find((slot) => {
    if (!slot.process.running) return false;
    const roles = slot.process.lines.filter(
      (l) => l.msg === 'leader active: took over' || l.msg === 'leader stepped down; standing by',
    );
    return roles.at(-1)?.msg === 'leader active: took over';
  });
}

/** Does one fault to the active leader, undoes it, and waits until the group serves again. */
async function faultAndRecover(
  kind: LeaderFaultKind,
  victim: LeaderSlot,
  heldMs: number,
  settings: LeaderChaosSettings,
  lab: NetworkLab | undefined,
  leaders: readonly LeaderSlot[],
  workers: readonly DroverProcess[],
  spawnLeader: (slot: LeaderSlot) => Promise<void>,
): Promise<LeaderFaultRecord> {
  const atMs = Date.now();
  await injectProcessFault(kind, victim, heldMs, settings.faultHoldMs[0], lab, () =>
    spawnLeader(victim),
  );
  // Recovered once a worker starts a task again (a start sent before the fault may land
  // in its first moments: those are not counted).
  const startedAfter = (): number | undefined =>
    earliest(
      workers.flatMap((w) => w.lines),
      (l) => l.msg === 'task started' && Number(l['time']) > atMs + 50,
    );
  await waitFor(() => startedAfter() !== undefined || undefined, {
    timeoutMs: 60_000,
    intervalMs: 50,
    what: `a task started after the ${kind} of leader ${victim.index}`,
  }).catch(() => undefined);
  const tookOverAt = earliest(
    leaders.filter((l) => l !== victim).flatMap((l) => l.process.lines),
    (l) => l.msg === 'leader active: took over' && Number(l['time']) >= atMs,
  );
  const startedAt = startedAfter();
  return {
    kind,
    leader: victim.index,
    heldMs,
    takeoverMs: tookOverAt === undefined ? undefined : tookOverAt - atMs,
    firstStartMs: startedAt === undefined ? undefined : startedAt - atMs,
  };
}

/** Schedules at a steady rate, following refusals; acknowledged ids go in `acked`. */
async function produce(
  addresses: readonly string[],
  settings: LeaderChaosSettings,
  random: () => number,
  endAtMs: number,
  acked: string[],
  onRefused: () => void,
): Promise<void> {
  const clients = new Map(
    addresses.map((a) => [a, new SchedulerServiceClient(a, credentials.createInsecure())]),
  );
  let target = addresses[0]!;
  await atSteadyRate(settings.ratePerSec, settings.durationMs, endAtMs, (n) => {
    const id = chaosTaskId(n);
    const [low, high] = isLoggingTask(id) ? LOGGING_MS : settings.taskMs;
    const work = Math.round(low + random() * (high - low));
    return new Promise<void>((resolve) => {
      clients
        .get(target)!
        .scheduleTask(
          { task: taskDraft({ id, payload: String(work), maxAttempts: 100 }) },
          new Metadata(),
          { deadline: new Date(Date.now() + 1_000) },
          (err: ServiceError | null) => {
            if (!err) acked.push(id);
            else {
              onRefused();
              const hint = err.metadata?.get('drover-leader')[0];
              if (typeof hint === 'string' && clients.has(hint)) target = hint;
              else if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
                target = addresses[(addresses.indexOf(target) + 1) % addresses.length]!;
              }
            }
            resolve();
          },
        );
    });
  });
  for (const c of clients.values()) c.close();
}

/** The task list's final states, once nothing is open (or the timeout), from the active leader. */
async function settle(
  leaders: readonly LeaderSlot[],
  timeoutMs: number,
): Promise<Map<string, TaskStatus | undefined>> {
  const read = async (): Promise<Map<string, TaskStatus | undefined> | undefined> => {
    const active = activeLeader(leaders);
    if (!active) return undefined;
    const api = new TestClients(active.address);
    try {
      const tasks = await api.tasks();
      const open = tasks.some(
        (t) =>
          t.status === TaskStatus.TASK_STATUS_PENDING ||
          t.status === TaskStatus.TASK_STATUS_RUNNING,
      );
      return open ? undefined : new Map(tasks.map((t) => [t.id, t.status]));
    } catch {
      return undefined;
    } finally {
      api.close();
    }
  };
  const done = await waitFor(read, {
    timeoutMs,
    intervalMs: 500,
    what: 'every task finished',
  }).catch(() => undefined);
  if (done) return done;
  // Whatever is still open is counted as lost.
  const active = activeLeader(leaders);
  if (!active) return new Map();
  const api = new TestClients(active.address);
  try {
    return new Map((await api.tasks()).map((t) => [t.id, t.status]));
  } finally {
    api.close();
  }
}

/** The earliest `time` of the lines that match, if any. */
function earliest(
  lines: readonly Record<string, unknown>[],
  match: (line: Record<string, unknown>) => boolean,
): number | undefined {
  let first: number | undefined;
  for (const line of lines) {
    if (!match(line)) continue;
    const at = Number(line['time']);
    if (first === undefined || at < first) first = at;
  }
  return first;
}
