import { setTimeout as sleep } from 'node:timers/promises';
import { TaskStatus, TestClients } from '../../test/helpers/grpc-clients.js';
import { NetworkLab } from '../../test/helpers/network-lab.js';
import { Cluster, type DroverProcess, type LogLine } from '../../test/helpers/processes.js';
import { seededRandom } from '../../test/helpers/seeded-random.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { distribution, type Distribution } from '../lib/stats.js';
import { progress } from '../lib/progress.js';
import { atSteadyRate } from '../lib/steady-rate.js';
import { extras, injectProcessFault, type ProcessFaultKind } from '../lib/process-fault.js';
import { mostAtOnceByKey } from './key-overlap.js';
import { fenceAfterMs } from '../../src/leader/member-lifecycle.js';

/** A fault the run injects into a worker. */
export type FaultKind = ProcessFaultKind;

/** What a chaos run does; every loop in it is bounded by these. */
export interface ChaosSettings {
  readonly durationMs: number;
  readonly workers: number;
  readonly slots: number;
  /** Tasks scheduled per second, steadily, for the whole duration. */
  readonly ratePerSec: number;
  /** Work per task, in ms, drawn uniformly from this range. */
  readonly taskMs: readonly [number, number];
  /** Mean time between faults (each gap is drawn from 0.5x to 1.5x of it). */
  readonly faultEveryMs: number;
  /** How long a freeze or a cut lasts, drawn from this range; a killed worker restarts after the lower bound. */
  readonly faultHoldMs: readonly [number, number];
  readonly seed: number;
  /** Leader flags for the membership timings (the run records them). */
  readonly leaderTimings: readonly string[];
  /** Longest wait, after the run, for every scheduled task to finish. */
  readonly settleTimeoutMs: number;
  /**
   * Concurrency keys the tasks take in turn (0: none), each limited to `keyLimit` running
   * at once (issue #18): the run reports the most of one key that ever ran at once.
   */
  readonly keys: number;
  readonly keyLimit: number;
  /**
   * Every this-many-th task is delayed instead (0: none), by up to `maxDelayMs`, with no
   * key, so the leader hands it to a worker ahead of its run time (timed starts): the run
   * counts any that started before its run time (must be none).
   */
  readonly delayedEvery: number;
  readonly maxDelayMs: number;
}

/** One injected fault and what the leader did about it. */
export interface FaultRecord {
  readonly kind: FaultKind;
  readonly memberId: string;
  readonly atMs: number;
  readonly heldMs: number;
  /** Fault to the leader's "member dead"; undefined if it ended before the timeout. */
  readonly detectedAfterMs: number | undefined;
  /** Fault to each of its requeued tasks being assigned again. */
  readonly restartAfterMs: readonly number[];
}

/** The outcome of a chaos run: counts that must be zero, and how fast faults were handled. */
export interface ChaosReport {
  readonly settings: ChaosSettings;
  readonly cutsSkipped: string | undefined;
  readonly scheduled: number;
  readonly refusedSchedules: number;
  readonly completed: number;
  /** Acknowledged tasks not completed at the end (missing, pending, running): must be 0. */
  readonly lost: number;
  /** Tasks that ended in ERROR (attempts ran out): expected 0 with the run's budget. */
  readonly failed: number;
  /** Completions recorded more than once for one task: must be 0. */
  readonly duplicateCompletions: number;
  /** (task, attempt) pairs started more than once on workers: must be 0. */
  readonly sameAttemptRunTwice: number;
  /** Tasks whose handler ran to its end more than once (at-least-once re-runs). */
  readonly tasksRunMoreThanOnce: number;
  readonly faults: Record<FaultKind, number>;
  readonly undetectedFaults: number;
  readonly detectionMs: Record<FaultKind, Distribution>;
  readonly restartMs: Record<FaultKind, Distribution>;
  readonly faultLog: readonly FaultRecord[];
  /**
   * The most tasks of one concurrency key that ever ran at the same instant on the
   * workers (their own logs; see key-overlap.ts): must not exceed `settings.keyLimit`.
   */
  readonly mostOfOneKeyAtOnce: number;
  readonly mostAtOnceByKey: Record<string, number>;
  /** The attempts running at the busiest instant of the busiest key. */
  readonly busiestKeyInstant: readonly string[];
  /**
   * Keyed attempts whose worker was frozen past their fence time: how long each went on
   * after SIGCONT before it ended (its fence, or its handler returning).
   */
  readonly wokePastFence: Distribution;
  /**
   * Attempts the leader handed to a worker whose slots were all busy (prefetch), from its
   * `drover_task_attempts_prefetched_total`; undefined if its metrics could not be read.
   */
  readonly prefetched: number | undefined;
  /** Delayed tasks acknowledged (see `settings.delayedEvery`). */
  readonly delayed: number;
  /** Delayed tasks handed out ahead of their run time (`drover_task_attempts_timed_total`). */
  readonly timedStarts: number | undefined;
  /** Starts of delayed tasks (any attempt) on a worker before the task's run time: must be 0. */
  readonly startedBeforeRunAt: number;
}

interface WorkerSlot {
  readonly id: string;
  readonly index: number;
  process: DroverProcess;
  /** Every process this member has had (kills restart it), for the run counts. */
  readonly incarnations: DroverProcess[];
  /** When each killed incarnation died, and when each was frozen. */
  readonly killedAtMs: Map<DroverProcess, number>;
  readonly frozen: Map<DroverProcess, [number, number][]>;
  busy: boolean;
}

interface Injected {
  readonly kind: FaultKind;
  readonly memberId: string;
  readonly atMs: number;
  readonly heldMs: number;
}

/**
 * A leader, several workers and a steady stream of tasks while workers are killed
 * (SIGKILL, then restarted), frozen (SIGSTOP/SIGCONT) and cut off (their network
 * namespace's link down, when the machine allows namespaces) at random. Everything runs
 * as real processes; the counts come from the task list and the processes' own logs.
 */
export async function runChaos(settings: ChaosSettings): Promise<ChaosReport> {
  const random = seededRandom(settings.seed);
  const between = ([lo, hi]: readonly [number, number]): number =>
    Math.round(lo + random() * (hi - lo));
  const probe = NetworkLab.probe();
  const lab = probe.ok ? NetworkLab.create() : undefined;
  const cluster = new Cluster();
  const workers: WorkerSlot[] = [];
  const injected: Injected[] = [];
  let api: TestClients | undefined;
  try {
    const host = lab?.hostIp ?? '127.0.0.1';
    const leader = cluster.spawn('leader', [
      'leader',
      '--listen',
      `${host}:0`,
      ...(lab ? ['--allow-insecure', '--no-auth'] : []),
      '--data-dir',
      cluster.dataDir(),
      '--log-level',
      'debug', // every task's lines (scheduled, assigned, completed) are read back
      // Every task's end is read back from the leader: none may be pruned first (the
      // default keeps 100,000 finished tasks, fewer than a long run at a high rate makes).
      '--retain-finished',
      String(Math.max(100_000, Math.ceil((2 * settings.ratePerSec * settings.durationMs) / 1000))),
      ...settings.leaderTimings,
    ]);
    const listening = await leader.waitForLine((l) => l.msg === 'leader listening', 15_000);
    const address = (listening['addresses'] as string[])[0]!;
    const http = await leader.waitForLine((l) => l.msg === 'http listening', 15_000);
    api = new TestClients(address);
    const prefixes = Array.from({ length: settings.workers }, (_, i) => lab?.addNamespace(i) ?? []);
    const startWorker = (id: string, index: number): Promise<DroverProcess> =>
      cluster.startWorker(
        address,
        id,
        ['--slots', String(settings.slots), '--log-level', 'debug'],
        prefixes[index],
      );
    for (let index = 0; index < settings.workers; index++) {
      const id = `w${index + 1}`;
      const process = await startWorker(id, index);
      workers.push({
        id,
        index,
        process,
        incarnations: [process],
        killedAtMs: new Map(),
        frozen: new Map(),
        busy: false,
      });
    }
    progress(
      `chaos: ${settings.workers} workers${lab ? ' in network namespaces' : ' on loopback'}, ` +
        `${settings.ratePerSec} tasks/s for ${settings.durationMs / 1000} s`,
    );

    for (let k = 0; k < settings.keys; k++) {
      await new Promise<void>((resolve, reject) =>
        api!.scheduler.setLimit(
          {
            limit: { key: `k${k}`, kind: '', maxRunning: settings.keyLimit, running: 0, queued: 0 },
          },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    }
    const endAtMs = Date.now() + settings.durationMs;
    const acked: string[] = [];
    let refused = 0;
    const producing = produce(api, settings, random, endAtMs, acked, () => refused++);

    const kinds: FaultKind[] = lab ? ['kill', 'freeze', 'cut', 'stop'] : ['kill', 'freeze', 'stop'];
    const pendingFaults: Promise<unknown>[] = [];
    // Bounded: one fault per gap until the end of the run.
    while (Date.now() < endAtMs) {
      await sleep(Math.round(settings.faultEveryMs * (0.5 + random())));
      if (Date.now() >= endAtMs) break;
      const healthy = workers.filter((w) => !w.busy);
      // At least one worker always stays healthy, so the run keeps making progress.
      if (healthy.length <= 1) continue;
      const worker = healthy[Math.floor(random() * healthy.length)]!;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const heldMs = between(settings.faultHoldMs);
      worker.busy = true;
      injected.push({ kind, memberId: worker.id, atMs: Date.now(), heldMs });
      const client = api;
      pendingFaults.push(
        inject(kind, worker, heldMs, settings.faultHoldMs[0], lab, startWorker)
          // The next fault on this member waits until it is back in service, so each fault
          // is measured from a healthy start.
          .then(() =>
            waitFor(async () => (await client.member(worker.id))?.status === 'alive', {
              timeoutMs: 60_000,
              intervalMs: 50,
              what: `${worker.id} alive again`,
            }),
          )
          .finally(() => {
            worker.busy = false;
          }),
      );
    }
    await producing;
    await Promise.all(pendingFaults);
    progress(`chaos: ${injected.length} faults injected; waiting for the task list to settle`);

    const client = api;
    await waitFor(
      async () => {
        const open = [
          ...(await client.tasks(TaskStatus.TASK_STATUS_SCHEDULED)),
          ...(await client.tasks(TaskStatus.TASK_STATUS_PENDING)),
          ...(await client.tasks(TaskStatus.TASK_STATUS_RUNNING)),
        ];
        return open.length === 0;
      },
      { timeoutMs: settings.settleTimeoutMs, intervalMs: 200, what: 'every task finished' },
    ).catch(() => undefined); // what is still open is counted as lost below

    const tasks = new Map((await client.tasks()).map((task) => [task.id, task]));
    let completed = 0;
    let failed = 0;
    for (const id of acked) {
      const status = tasks.get(id)?.status;
      if (status === TaskStatus.TASK_STATUS_COMPLETED) completed++;
      else if (status === TaskStatus.TASK_STATUS_ERROR) failed++;
    }
    const workerLines = workers.flatMap((w) => w.incarnations.flatMap((p) => p.lines));
    const byKey = mostAtOnceByKey(
      workers.flatMap((w) =>
        w.incarnations.map((p) => ({
          name: `${w.id} pid ${p.pid}`,
          lines: p.lines,
          killedAtMs: w.killedAtMs.get(p),
          frozen: w.frozen.get(p) ?? [],
        })),
      ),
      (taskId) => keyOfTask(taskId, settings),
      fenceAfterMs(flagValue(settings.leaderTimings, '--dead-after-ms')),
    );
    const faultLog = injected.map((fault) => {
      // A death belongs to this fault only if it comes before the member's next fault.
      const next = injected.find((f) => f.memberId === fault.memberId && f.atMs > fault.atMs);
      return analyseFault(fault, next?.atMs ?? Number.POSITIVE_INFINITY, leader.lines);
    });
    const byKind = (pick: (f: FaultRecord) => number[]): Record<FaultKind, Distribution> => ({
      kill: distribution(faultLog.filter((f) => f.kind === 'kill').flatMap(pick)),
      freeze: distribution(faultLog.filter((f) => f.kind === 'freeze').flatMap(pick)),
      cut: distribution(faultLog.filter((f) => f.kind === 'cut').flatMap(pick)),
      stop: distribution(faultLog.filter((f) => f.kind === 'stop').flatMap(pick)),
    });
    return {
      settings,
      cutsSkipped: probe.ok ? undefined : probe.reason,
      scheduled: acked.length,
      refusedSchedules: refused,
      completed,
      lost: acked.length - completed - failed,
      failed,
      duplicateCompletions: extras(leader.linesWith('task completed').map((l) => l['taskId'])),
      sameAttemptRunTwice: extras(
        workerLines
          .filter((l) => l.msg === 'task started')
          .map((l) => `${String(l['taskId'])}#${String(l['attempt'])}`),
      ),
      tasksRunMoreThanOnce: new Set(
        repeatedKeys(workerLines.filter((l) => l.msg === 'task finished').map((l) => l['taskId'])),
      ).size,
      faults: {
        kill: injected.filter((f) => f.kind === 'kill').length,
        freeze: injected.filter((f) => f.kind === 'freeze').length,
        cut: injected.filter((f) => f.kind === 'cut').length,
        stop: injected.filter((f) => f.kind === 'stop').length,
      },
      undetectedFaults: faultLog.filter((f) => f.detectedAfterMs === undefined).length,
      detectionMs: byKind((f) => (f.detectedAfterMs === undefined ? [] : [f.detectedAfterMs])),
      restartMs: byKind((f) => [...f.restartAfterMs]),
      faultLog,
      mostOfOneKeyAtOnce: Math.max(0, ...Object.values(byKey.most)),
      mostAtOnceByKey: byKey.most,
      busiestKeyInstant: byKey.witness,
      wokePastFence: distribution(byKey.wokePastFenceMs),
      prefetched: await counterValue(http, 'drover_task_attempts_prefetched_total'),
      delayed: acked.filter((id) => isDelayed(id, settings)).length,
      timedStarts: await counterValue(http, 'drover_task_attempts_timed_total'),
      startedBeforeRunAt: workerLines.filter((l) => {
        if (l.msg !== 'task started' || !isDelayed(String(l['taskId']), settings)) return false;
        const runAt = tasks.get(String(l['taskId']))?.runAt;
        return runAt !== undefined && Number(l['time']) < runAt.getTime();
      }).length,
    };
  } finally {
    api?.close();
    // CHAOS_KEEP_LOGS=name keeps every process's log in test-logs/name/ (for a person).
    await cluster.stop(process.env['CHAOS_KEEP_LOGS']);
    lab?.destroy();
  }
}

/** Schedules tasks at a steady rate until `endAtMs`; ids the leader acknowledged go in `acked`. */
async function produce(
  api: TestClients,
  settings: ChaosSettings,
  random: () => number,
  endAtMs: number,
  acked: string[],
  onRefused: () => void,
): Promise<void> {
  await atSteadyRate(settings.ratePerSec, settings.durationMs, endAtMs, (n) => {
    const id = `c${n}`;
    const work = Math.round(
      settings.taskMs[0] + random() * (settings.taskMs[1] - settings.taskMs[0]),
    );
    // A generous attempt budget: faults may cost a task several attempts, none may lose it.
    const concurrencyKey = keyOfTask(id, settings) ?? '';
    const delayMs = isDelayed(id, settings)
      ? Math.round(random() * settings.maxDelayMs)
      : undefined;
    const task = { id, payload: String(work), maxAttempts: 100, concurrencyKey, delayMs };
    return api.schedule(task).then(
      () => void acked.push(id),
      () => onRefused(),
    );
  });
}

/** A flag's value in a list of leader flags. */
function flagValue(flags: readonly string[], name: string): number {
  const at = flags.indexOf(name);
  if (at < 0) throw new Error(`chaos: the leader timings name no ${name}`);
  return Number(flags[at + 1]);
}

/**
 * The concurrency key of chaos task `c<n>`: `k<n mod keys>`; none when keys is 0 or the
 * task is delayed.
 */
function keyOfTask(taskId: string, settings: ChaosSettings): string | undefined {
  const { keys } = settings;
  if (keys === 0 || isDelayed(taskId, settings)) return undefined;
  return `k${Number(taskId.slice(1)) % keys}`;
}

/** True if chaos task `c<n>` is delayed: every `delayedEvery`-th task. */
function isDelayed(taskId: string, { delayedEvery }: ChaosSettings): boolean {
  return delayedEvery > 0 && Number(taskId.slice(1)) % delayedEvery === delayedEvery - 1;
}

/** Carries out one fault and undoes it after `heldMs` (a killed worker is restarted). */
function inject(
  kind: FaultKind,
  worker: WorkerSlot,
  heldMs: number,
  restartAfterMs: number,
  lab: NetworkLab | undefined,
  startWorker: (id: string, index: number) => Promise<DroverProcess>,
): Promise<void> {
  const victim = worker.process;
  const atMs = Date.now();
  if (kind === 'kill') worker.killedAtMs.set(victim, atMs);
  if (kind === 'freeze') {
    const windows = worker.frozen.get(victim) ?? [];
    // Until SIGCONT: the window is closed with the real time once the hold is over.
    const window: [number, number] = [atMs, Number.POSITIVE_INFINITY];
    windows.push(window);
    worker.frozen.set(victim, windows);
    return injectProcessFault(kind, worker, heldMs, restartAfterMs, lab, async () => {}).then(
      () => void (window[1] = Date.now()),
    );
  }
  return injectProcessFault(kind, worker, heldMs, restartAfterMs, lab, async () => {
    worker.process = await startWorker(worker.id, worker.index);
    worker.incarnations.push(worker.process);
  });
}

/** Reads from the leader's log when it declared the member dead and re-ran its tasks. */
function analyseFault(
  fault: Injected,
  nextFaultAtMs: number,
  leaderLines: readonly LogLine[],
): FaultRecord {
  const at = (line: LogLine): number => Number(line['time']);
  // A fault is the cause of a death within its hold plus some slack (the dead timeout, TCP
  // retransmission after a heal), and before the member's next fault.
  const windowEndMs = Math.min(fault.atMs + fault.heldMs + 10_000, nextFaultAtMs);
  // A stopped worker is not found dead: it drains, hands back what it holds, and leaves.
  const ended = fault.kind === 'stop' ? 'member left' : 'member dead';
  const dead = leaderLines.find(
    (l) =>
      l.msg === ended &&
      l['memberId'] === fault.memberId &&
      at(l) >= fault.atMs &&
      at(l) <= windowEndMs,
  );
  const restartAfterMs: number[] = [];
  if (dead && fault.kind === 'stop') {
    // Measured for what it handed back unstarted: from the SIGTERM to the next assignment.
    const handedBack = leaderLines.filter(
      (l) =>
        l.msg === 'task handed back unstarted' &&
        l['memberId'] === fault.memberId &&
        at(l) >= fault.atMs &&
        at(l) <= at(dead),
    );
    for (const line of handedBack) {
      const assigned = leaderLines.find(
        (l) => l.msg === 'task assigned' && l['taskId'] === line['taskId'] && at(l) >= at(line),
      );
      if (assigned) restartAfterMs.push(at(assigned) - fault.atMs);
    }
  } else if (dead) {
    // The leader logs a death and then, synchronously, each task it requeued.
    const requeued: LogLine[] = [];
    for (let i = leaderLines.indexOf(dead) + 1; i < leaderLines.length; i++) {
      const line = leaderLines[i]!;
      if (line['memberId'] !== fault.memberId || !String(line.msg).startsWith('task ')) break;
      if (line.msg === 'task requeued') requeued.push(line);
    }
    for (const line of requeued) {
      const assigned = leaderLines.find(
        (l) => l.msg === 'task assigned' && l['taskId'] === line['taskId'] && at(l) >= at(dead),
      );
      if (assigned) restartAfterMs.push(at(assigned) - fault.atMs);
    }
  }
  return {
    kind: fault.kind,
    memberId: fault.memberId,
    atMs: fault.atMs,
    heldMs: fault.heldMs,
    detectedAfterMs: dead ? at(dead) - fault.atMs : undefined,
    restartAfterMs,
  };
}

function repeatedKeys(keys: readonly unknown[]): unknown[] {
  const seen = new Set<unknown>();
  return keys.filter((key) => (seen.has(key) ? true : (seen.add(key), false)));
}

/** An unlabelled counter from the leader's /metrics (`http`: its 'http listening' line). */
async function counterValue(
  http: Record<string, unknown>,
  name: string,
): Promise<number | undefined> {
  try {
    const page = `http://${String(http['address'])}/metrics`;
    const text = await (await fetch(page, { signal: AbortSignal.timeout(5000) })).text();
    const line = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}
