import { setTimeout as sleep } from 'node:timers/promises';
import { taskDraft } from '../../src/client/task-draft.js';
import { produce } from '../lib/produce.js';
import { createProducer } from '../../src/client/producer.js';
import { nothingOpen } from '../lib/open-tasks.js';
import { BenchCluster, type BenchStore } from '../lib/drover-cluster.js';
import { cpuTimeMs } from '../lib/proc.js';

/** One throughput run's settings. */
export interface ThroughputSettings {
  readonly tasks: number;
  readonly workers: number;
  readonly slots: number;
  /**
   * `single`: one ScheduleTask call per task; `stream`: one `schedule()` per task on the
   * SDK producer (a ScheduleTaskStream, a turn's schedules in one message); `batch`:
   * ScheduleTasks of `batchSize`.
   */
  readonly mode: 'single' | 'stream' | 'batch';
  readonly batchSize: number;
  /** Calls kept in flight by the producer. */
  readonly window: number;
  readonly leaderArgs?: readonly string[];
  /** drover's task store (default memory). */
  readonly store?: BenchStore;
  /**
   * Concurrency keys (issue #18): task i takes key `key-<i mod count>`, each key limited to
   * `maxRunning` by its own SetLimit before the run. Absent: tasks carry no key.
   */
  readonly keys?: { readonly count: number; readonly maxRunning: number };
}

/** CPU time each party spent per task during a run, in microseconds. */
export interface CpuPerTask {
  /** The process that schedules (this harness, over grpc-js). */
  readonly producer: number;
  readonly leader: number;
  /** All workers together. */
  readonly workers: number;
}

/** One throughput run: the rate, and (for drover) where the CPU went. */
export interface ThroughputRun {
  readonly tasksPerSec: number;
  readonly cpuUsPerTask?: CpuPerTask | undefined;
}

/**
 * End to end: schedule `tasks` tasks, have them assigned, run by an empty handler and
 * completed, with every process real. Returns tasks per second from the first schedule
 * call to the moment the leader has none pending or running, and the CPU each process
 * used per task over that time (on a small machine, that says what limits the rate).
 */
export async function droverThroughput(settings: ThroughputSettings): Promise<ThroughputRun> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader([...(settings.leaderArgs ?? [])], settings.store);
    const workers = await cluster.startWorkers(settings.workers, settings.slots);
    const api = cluster.clients;
    const cpuOfOthers = (): [number, number] => [
      cpuTimeMs(cluster.leader.pid),
      workers.reduce((sum, w) => sum + cpuTimeMs(w.pid), 0),
    ];
    const [leaderBefore, workersBefore] = cpuOfOthers();
    const producerBefore = process.cpuUsage();
    const keys = settings.keys;
    for (let k = 0; k < (keys?.count ?? 0); k++) {
      await api.call(api.scheduler, api.scheduler.setLimit, {
        limit: { key: `key-${k}`, kind: '', maxRunning: keys!.maxRunning, running: 0, queued: 0 },
      });
    }
    let n = 0;
    const task = () =>
      keys === undefined
        ? { payload: 'x' }
        : { payload: 'x', concurrencyKey: `key-${n++ % keys.count}` };
    const producer = createProducer({ leader: cluster.address });
    const startedMs = performance.now();
    await produce(
      settings,
      settings.mode === 'stream' ? () => producer.schedule(task()) : () => api.schedule(task()),
      (size) =>
        api.call(api.scheduler, api.scheduler.scheduleTasks, {
          tasks: Array.from({ length: size }, () => taskDraft(task())),
        }),
    );
    // Everything is scheduled; wait (bounded) until nothing is pending or running. Members
    // is cheap (O(members)); the task-list check that confirms it scans, so it runs only
    // once every slot looks free.
    const deadline = performance.now() + 10 * 60_000;
    for (;;) {
      const members = await api.members();
      if (members.every((m) => m.slotsFree === m.slotsTotal) && (await nothingOpen(api))) break;
      if (performance.now() > deadline)
        throw new Error('throughput run did not finish in 10 minutes');
      await sleep(10);
    }
    const elapsedMs = performance.now() - startedMs;
    await producer.close();
    const producerCpu = process.cpuUsage(producerBefore);
    const [leaderAfter, workersAfter] = cpuOfOthers();
    const us = (ms: number): number => Math.round((ms * 1000) / settings.tasks);
    return {
      tasksPerSec: settings.tasks / (elapsedMs / 1000),
      cpuUsPerTask: {
        producer: us((producerCpu.user + producerCpu.system) / 1000),
        leader: us(leaderAfter - leaderBefore),
        workers: us(workersAfter - workersBefore),
      },
    };
  } finally {
    await cluster.stop();
  }
}
