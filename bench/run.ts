/**
 * drover's benchmark suite: `npm run bench` (full) or `npm run bench -- --smoke` (tiny
 * counts, run by the tests so the harness cannot rot). Every process is real and talks
 * over loopback. Results: bench/results/<time>.json and .md, and latest.json/latest.md.
 *
 * Settings (environment): BENCH_TASKS (100000), BENCH_RUNS (3), BENCH_WORKERS ("1,4,16"),
 * BENCH_SLOTS (8), BENCH_LATENCY_TASKS (500), BENCH_LATENCY_RATE (100/s),
 * BENCH_GRAPHILE_TASKS (BENCH_TASKS), BENCH_STORES (drover's stores: "memory,sqlite,postgres"), BENCH_DETECTION_TRIALS (20), BENCH_PEERS ("bullmq,graphile,grpc-floor"; "" for none; grpc-floor: a bare grpc-js server of the same service, the floor for single mode),
 * BENCH_SCALE_MEMBERS ("1000,5000,10000"), BENCH_SCALE_WINDOW_MS (10000),
 * BENCH_QUEUE_DEPTHS ("0,250000,500000,1000000"), BENCH_QUEUE_SAMPLES (200),
 * BENCH_PROFILE_DIR (leader and worker CPU profiles), BENCH_TIMER_TASKS (10000: delayed tasks due in the same second, for timer precision; BENCH_RUNS runs pooled), BENCH_TIMER_WARMUP (30000: tasks with no delay run first on the same processes), BENCH_TIMER_WINDOW_MS (1000: the run times spread over this; 0: all due at one instant), BENCH_ONLY (sections to run, default all: "throughput,latency,timers,detection,members,queue"), BENCH_LEADER_ARGS (extra flags for every drover leader, space-separated: an A/B of one option; recorded in the settings), BENCH_LEADER_NODE_ARGS (Node's own flags for every leader, such as a V8 heap setting).
 * Results are rewritten after every section, so an interrupted run keeps what it measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { droverDetection } from './drover/detection.js';
import { droverLatency } from './drover/latency.js';
import { droverMemberScale, type MemberScale } from './drover/members.js';
import { droverQueueDepth, type QueueDepthRow } from './drover/queue-depth.js';
import {
  droverThroughput,
  type CpuPerTask,
  type ThroughputRun,
  type ThroughputSettings,
} from './drover/throughput.js';
import type { BenchStore } from './lib/drover-cluster.js';
import { machine } from './lib/machine.js';
import { progress } from './lib/progress.js';
import { distribution, repeated, type Distribution, type Repeated } from './lib/stats.js';
import {
  bullmqLatency,
  bullmqThroughput,
  bullmqTimerPrecision,
  bullmqUnavailable,
} from './peers/bullmq.js';
import { graphileLatency, graphileThroughput, graphileUnavailable } from './peers/graphile.js';
import { grpcFloorThroughput } from './peers/grpc-floor.js';
import { outsideClientUnavailable, outsideLatency } from './drover/outside-latency.js';
import { droverTimerPrecision } from './drover/timer-precision.js';
import { renderMarkdown } from './report.js';
import { runFlowSection, type KeyThroughputRow, type RateRow } from './flow-section.js';

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
});
const smoke = flags.smoke;
const ALL_SECTIONS = ['throughput', 'latency', 'timers', 'keys', 'detection', 'members', 'queue'];
const env = (name: string, full: string, small: string): string =>
  process.env[name] ?? (smoke ? small : full);

/** The suite's settings, recorded with the results. */
export const settings = {
  tasks: Number(env('BENCH_TASKS', '100000', '300')),
  runs: Number(env('BENCH_RUNS', '3', '1')),
  workers: env('BENCH_WORKERS', '1,4,16', '1,2').split(',').map(Number),
  slots: Number(env('BENCH_SLOTS', '8', '2')),
  batchSize: 1000,
  singleWindow: 256,
  latencyTasks: Number(env('BENCH_LATENCY_TASKS', '500', '20')),
  latencyRatePerSec: Number(env('BENCH_LATENCY_RATE', '100', '100')),
  latencyWorkers: 4,
  timerTasks: Number(env('BENCH_TIMER_TASKS', '10000', '50')),
  timerWarmUp: Number(env('BENCH_TIMER_WARMUP', '30000', '20')),
  timerWindowMs: Number(env('BENCH_TIMER_WINDOW_MS', '1000', '1000')),
  keyTasks: Number(env('BENCH_KEY_TASKS', '40000', '300')),
  keyCount: Number(env('BENCH_KEYS', '1000', '10')),
  keyMaxRunning: 2,
  rateTasks: Number(env('BENCH_RATE_TASKS', '5000', '40')),
  ratePerSec: Number(env('BENCH_RATE', '1000', '100')),
  detectionTrials: Number(env('BENCH_DETECTION_TRIALS', '20', '2')),
  stores: env('BENCH_STORES', 'memory,sqlite,postgres', 'memory,sqlite')
    .split(',')
    .filter(Boolean) as BenchStore[],
  peers: env('BENCH_PEERS', 'bullmq,graphile,grpc-floor', 'bullmq,graphile,grpc-floor')
    .split(',')
    .filter(Boolean),
  graphileTasks: Number(process.env['BENCH_GRAPHILE_TASKS'] ?? env('BENCH_TASKS', '100000', '300')),
  scaleMembers: env('BENCH_SCALE_MEMBERS', '1000,5000,10000', '50').split(',').map(Number),
  scaleWindowMs: Number(env('BENCH_SCALE_WINDOW_MS', '10000', '1000')),
  scaleHeartbeatMs: 1000,
  membersPerConnection: 100,
  queueDepths: env('BENCH_QUEUE_DEPTHS', '0,250000,500000,1000000', '0,2000')
    .split(',')
    .map(Number),
  queueSamples: Number(env('BENCH_QUEUE_SAMPLES', '200', '10')),
  sections: env('BENCH_ONLY', ALL_SECTIONS.join(','), ALL_SECTIONS.join(','))
    .split(',')
    .filter(Boolean),
  leaderArgs: process.env['BENCH_LEADER_ARGS'] ?? '',
  leaderNodeArgs: process.env['BENCH_LEADER_NODE_ARGS'] ?? '',
  smoke,
};

/** drover's name in results: "drover" with the memory store, "drover-sqlite" / "drover-postgres". */
function droverSystem(store: BenchStore): string {
  return store === 'memory' ? 'drover' : `drover-${store}`;
}

/** One system's throughput for one configuration. */
export interface ThroughputRow {
  readonly system: string;
  readonly workers: number;
  readonly mode: ThroughputSettings['mode'];
  readonly tasksPerSec: Repeated;
  /** drover only: median CPU per task of the producer, the leader and all workers. */
  readonly cpuUsPerTask?: CpuPerTask | undefined;
}

/** One system's latency figures. */
export interface LatencyRow {
  readonly system: string;
  readonly toStartMs: Distribution;
  readonly toCompleteMs: Distribution | undefined;
}

/** One system's timer precision: how late delayed tasks started after their run time. */
export interface TimerRow {
  readonly system: string;
  readonly latenessMs: Distribution;
  /** The earliest start relative to its run time: below 0 would be a task started early. */
  readonly earliestMs: number;
}

/** Everything one run of the suite produced. */
export interface Results {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: ReturnType<typeof machine>;
  readonly settings: typeof settings;
  readonly skipped: Record<string, string>;
  /** Measures that failed, with the reason; their figures are absent, never invented. */
  readonly failed: string[];
  readonly throughput: ThroughputRow[];
  readonly latency: LatencyRow[];
  readonly timers: TimerRow[];
  readonly keys: KeyThroughputRow[];
  readonly rates: RateRow[];
  readonly detection: { signal: string; trials: Distribution; settings: string }[];
  readonly members: MemberScale[];
  queue: { rows: QueueDepthRow[]; bytesPerTask: number } | undefined;
}

const results: Results = {
  startedAt: new Date().toISOString(),
  command: `npm run bench${smoke ? ' -- --smoke' : ''}`,
  machine: machine(),
  settings,
  skipped: {},
  failed: [],
  throughput: [],
  latency: [],
  timers: [],
  keys: [],
  rates: [],
  detection: [],
  members: [],
  queue: undefined,
};

mkdirSync(flags.out, { recursive: true });
const stamp = results.startedAt.replace(/[:.]/g, '-');
/** Writes what has been measured so far (after every section, and at the end). */
function save(): string {
  const markdown = renderMarkdown(results);
  for (const name of [stamp, 'latest']) {
    writeFileSync(`${flags.out}/${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(`${flags.out}/${name}.md`, markdown);
  }
  return markdown;
}
const wants = (section: string): boolean => settings.sections.includes(section);

/**
 * Runs one measure; if it throws, the failure is recorded (and shown in the report) and the
 * suite goes on, so one broken peer or an exhausted server does not lose the whole run.
 */
async function attempt<T>(what: string, measure: () => Promise<T>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (err) {
    const reason = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    results.failed.push(reason);
    progress(`FAILED ${reason}`);
    return undefined;
  }
}

type Runner = (s: ThroughputSettings, run: number) => Promise<ThroughputRun>;
/** drover once per store ("drover" is the memory store, "drover-sqlite" the durable one). */
const systems: [string, Runner][] = settings.stores.map((store) => [
  droverSystem(store),
  (s) => droverThroughput({ ...s, store }),
]);
if (settings.peers.includes('bullmq')) {
  const why = await bullmqUnavailable();
  if (why) results.skipped['bullmq'] = why;
  else systems.push(['bullmq', bullmqThroughput]);
}
if (settings.peers.includes('graphile')) {
  const why = await graphileUnavailable();
  if (why) results.skipped['graphile-worker'] = why;
  // graphile-worker is an order of magnitude slower here; BENCH_GRAPHILE_TASKS lets a full
  // run give it fewer tasks per run (the rate is per second, and the report says so).
  else
    systems.push([
      'graphile-worker',
      (s) => graphileThroughput({ ...s, tasks: settings.graphileTasks }),
    ]);
}
// The floor under one-call-per-task scheduling: bare grpc-js, same service and codecs.
const GRPC_FLOOR = 'grpc-js floor';
if (settings.peers.includes('grpc-floor')) systems.push([GRPC_FLOOR, grpcFloorThroughput]);
for (const [system, why] of Object.entries(results.skipped)) progress(`skipping ${system}: ${why}`);

if (wants('throughput')) {
  for (const workers of settings.workers) {
    for (const mode of ['batch', 'single', 'stream'] as const) {
      const run: ThroughputSettings = {
        tasks: settings.tasks,
        workers,
        slots: settings.slots,
        mode,
        batchSize: settings.batchSize,
        window: mode === 'batch' ? 4 : settings.singleWindow,
      };
      for (const [system, measure] of systems) {
        // A stream of one-task requests is drover's own protocol; peers have no such mode.
        if (mode === 'stream' && !system.startsWith('drover')) continue;
        if (system === GRPC_FLOOR && mode !== 'single') continue;
        const perRun: ThroughputRun[] = [];
        for (let i = 1; i <= settings.runs; i++) {
          const tasks = system === 'graphile-worker' ? settings.graphileTasks : settings.tasks;
          const what = `throughput ${system}: ${tasks} tasks, ${workers}x${settings.slots} slots, ${mode}, run ${i}/${settings.runs}`;
          progress(what);
          const outcome = await attempt(what, () => measure(run, i));
          if (outcome !== undefined) perRun.push(outcome);
        }
        if (perRun.length > 0) {
          const cpu = perRun.flatMap((r) => (r.cpuUsPerTask ? [r.cpuUsPerTask] : []));
          const median = (pick: (c: CpuPerTask) => number) => repeated(cpu.map(pick)).median;
          results.throughput.push({
            system,
            workers,
            mode,
            tasksPerSec: repeated(perRun.map((r) => r.tasksPerSec)),
            cpuUsPerTask:
              cpu.length === 0
                ? undefined
                : {
                    producer: median((c) => c.producer),
                    leader: median((c) => c.leader),
                    workers: median((c) => c.workers),
                  },
          });
        }
        save();
      }
    }
  }
  save();
}

if (wants('latency')) {
  const { latencyTasks: n, latencyRatePerSec: rate, latencyWorkers: lw, slots } = settings;
  type LatencyRunner = (
    count: number,
    ratePerSec: number,
    workers: number,
    slots: number,
  ) => Promise<{ toStartMs: number[]; toCompleteMs?: number[] }>;
  const runners: [string, LatencyRunner][] = settings.stores.flatMap(
    (store): [string, LatencyRunner][] => [
      [droverSystem(store), (...args) => droverLatency(...args, 'unary', store)],
      [`${droverSystem(store)} (stream)`, (...args) => droverLatency(...args, 'stream', store)],
    ],
  );
  // Timed from outside drover: a Python grpcio client, one ScheduleTask call per task.
  const noOutsideClient = outsideClientUnavailable();
  if (noOutsideClient) results.skipped['drover (python client)'] = noOutsideClient;
  else {
    for (const store of settings.stores) {
      runners.push([
        `${droverSystem(store)} (python client)`,
        (...args) => outsideLatency(...args, store),
      ]);
    }
  }
  if (systems.some(([x]) => x === 'bullmq')) runners.push(['bullmq', bullmqLatency]);
  if (systems.some(([x]) => x === 'graphile-worker')) {
    runners.push(['graphile-worker', graphileLatency]);
  }
  for (const [system, measure] of runners) {
    const what = `latency ${system}: ${n} tasks at ${rate}/s, ${lw}x${slots} idle slots`;
    progress(what);
    const sample = await attempt(what, () => measure(n, rate, lw, slots));
    if (sample) {
      results.latency.push({
        system,
        toStartMs: distribution(sample.toStartMs),
        // graphile-worker keeps no completion time for a job (it deletes it).
        toCompleteMs: sample.toCompleteMs ? distribution(sample.toCompleteMs) : undefined,
      });
    }
    save();
  }
}

if (wants('timers')) {
  const { timerTasks: n, timerWarmUp: warm, latencyWorkers: tw, slots, runs } = settings;
  const windowMs = settings.timerWindowMs;
  const runners: [string, () => Promise<number[]>][] = settings.stores.map((store) => [
    droverSystem(store),
    () => droverTimerPrecision(n, tw, slots, store, warm, windowMs),
  ]);
  if (systems.some(([x]) => x === 'bullmq')) {
    runners.push(['bullmq', () => bullmqTimerPrecision(n, tw, slots, warm, windowMs)]);
  }
  for (const [system, measure] of runners) {
    const what = `timers ${system}: ${n} delayed tasks due within ${windowMs} ms, ${tw}x${slots} slots, ${runs} run(s)`;
    progress(what);
    // Each run on fresh processes; the runs' samples pooled (one slow run shows in p99).
    const lateness = await attempt(what, async () => {
      const samples: number[] = [];
      for (let run = 0; run < runs; run++) samples.push(...(await measure()));
      return samples;
    });
    if (lateness) {
      const earliestMs = Math.round(Math.min(...lateness) * 100) / 100;
      results.timers.push({ system, latenessMs: distribution(lateness), earliestMs });
    }
    save();
  }
}

if (wants('keys')) {
  await runFlowSection({
    ...{ tasks: settings.keyTasks, runs: settings.runs, slots: settings.slots },
    workers: settings.latencyWorkers,
    batchSize: settings.batchSize,
    ...{ keyCount: settings.keyCount, keyMaxRunning: settings.keyMaxRunning },
    ...{ rateTasks: settings.rateTasks, ratePerSec: settings.ratePerSec },
    stores: settings.stores,
    withBullmq: systems.some(([x]) => x === 'bullmq'),
    systemName: droverSystem,
    attempt,
    keyRows: results.keys,
    rateRows: results.rates,
    save,
  });
}

if (wants('detection')) {
  for (const signal of ['SIGKILL', 'SIGSTOP'] as const) {
    const what = `detection drover: ${signal}, ${settings.detectionTrials} trials, ${smoke ? 'fast' : 'default'} timings`;
    progress(what);
    // Smoke runs use fast timings so they stay short; full runs use the defaults.
    const args = smoke
      ? ['--heartbeat-interval-ms', '100', '--suspect-after-ms', '200', '--dead-after-ms', '300']
      : [];
    const trials = await attempt(what, () =>
      droverDetection(signal, settings.detectionTrials, args),
    );
    if (trials) {
      results.detection.push({
        signal,
        trials: distribution(trials),
        settings: smoke
          ? 'heartbeat 100 ms, dead after 300 ms'
          : 'defaults: heartbeat 1000 ms, dead after 3000 ms',
      });
    }
    save();
  }
}

if (wants('members')) {
  for (const members of settings.scaleMembers) {
    const what = `scale drover: ${members} members, heartbeat every ${settings.scaleHeartbeatMs} ms`;
    progress(what);
    const row = await attempt(what, () =>
      droverMemberScale(members, {
        heartbeatIntervalMs: settings.scaleHeartbeatMs,
        windowMs: settings.scaleWindowMs,
        membersPerConnection: settings.membersPerConnection,
        membersCalls: smoke ? 3 : 20,
      }),
    );
    if (row) results.members.push(row);
    save();
  }
}

if (wants('queue')) {
  const what = `queue depth drover: ${settings.queueDepths.join(', ')} pending`;
  progress(what);
  results.queue = await attempt(what, () =>
    droverQueueDepth(
      { depths: settings.queueDepths, samples: settings.queueSamples, fillBatch: 10_000 },
      progress,
    ),
  );
}

const markdown = save();
progress(`wrote ${flags.out}/${stamp}.json and .md`);
process.stdout.write(markdown);
// Everything is written. Peer client libraries can keep idle sockets and timers for up to a
// minute after they are closed (seen here: ~55 s); the suite does not wait for them.
// TODO(#4): find the handle that outlives its client and close it instead.
process.exit(0);
