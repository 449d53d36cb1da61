import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { produce } from '../lib/produce.js';
import { startNodeWorker, stopAll } from '../lib/child.js';
import type { ThroughputRun, ThroughputSettings } from '../drover/throughput.js';
import { dueAtMs, TIMER_LEAD_MS } from '../drover/timer-precision.js';

const WORKER = fileURLToPath(new URL('./bullmq-worker.mjs', import.meta.url));
const REDIS = { host: '127.0.0.1', port: 6379 };

/** Why BullMQ cannot be measured here, or undefined when Redis answers. */
export async function bullmqUnavailable(): Promise<string | undefined> {
  const redis = new IORedis({
    ...REDIS,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return `Redis is not reachable on 127.0.0.1:6379 (${(err as Error).message})`;
  } finally {
    redis.disconnect();
  }
}

/** BullMQ end to end: the same tasks, worker processes and concurrency as drover's run. */
export async function bullmqThroughput(
  settings: ThroughputSettings,
  run: number,
): Promise<ThroughputRun> {
  const name = `drover-bench-${process.pid}-${run}`;
  const connection = new IORedis({ ...REDIS, maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  const workers = await Promise.all(
    Array.from({ length: settings.workers }, (_, i) =>
      startNodeWorker(`bullmq-${i}`, WORKER, [name, String(settings.slots)]),
    ),
  );
  try {
    const startedMs = performance.now();
    await produce(
      settings,
      () => queue.add('noop', 'x', { removeOnComplete: true }),
      (size) =>
        queue.addBulk(
          Array.from({ length: size }, () => ({
            name: 'noop',
            data: 'x',
            opts: { removeOnComplete: true },
          })),
        ),
    );
    const deadline = performance.now() + 10 * 60_000;
    for (;;) {
      const counts = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'prioritized',
        'failed',
      );
      if (counts['failed']! > 0) throw new Error(`BullMQ failed ${counts['failed']} jobs`);
      if (
        counts['waiting'] === 0 &&
        counts['active'] === 0 &&
        counts['delayed'] === 0 &&
        counts['prioritized'] === 0
      )
        break;
      if (performance.now() > deadline) throw new Error('BullMQ run did not finish in 10 minutes');
      await sleep(10);
    }
    return { tasksPerSec: settings.tasks / ((performance.now() - startedMs) / 1000) };
  } finally {
    await stopAll(workers);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}

/** Schedule-to-start and schedule-to-complete latency at a light steady rate. */
export async function bullmqLatency(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
): Promise<{ toStartMs: number[]; toCompleteMs: number[] }> {
  const name = `drover-bench-lat-${process.pid}`;
  const connection = new IORedis({ ...REDIS, maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  // QueueEvents does not close a connection it was given: keep it to close it ourselves.
  const eventsConnection = new IORedis({ ...REDIS, maxRetriesPerRequest: null });
  const events = new QueueEvents(name, { connection: eventsConnection });
  await events.waitUntilReady();
  const procs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      startNodeWorker(`bullmq-${i}`, WORKER, [name, String(slots)]),
    ),
  );
  const sentAt = new Map<string, number>();
  const toStartMs: number[] = [];
  const toCompleteMs: number[] = [];
  let done = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  events.on('completed', ({ jobId, returnvalue }) => {
    const now = performance.timeOrigin + performance.now();
    const sent = sentAt.get(jobId);
    if (sent === undefined) return;
    toStartMs.push(Number(returnvalue) - sent);
    toCompleteMs.push(now - sent);
    if (++done === count) allDone();
  });
  try {
    // Warm-up, as for drover: these jobs are not in sentAt, so they are not counted.
    for (let i = 0; i < 20; i++) {
      await queue.add('noop', 'x', { removeOnComplete: true, jobId: `warm-${i}` });
    }
    for (let i = 0; i < count; i++) {
      // Our own job id, recorded before sending: the job may complete before add() returns.
      const jobId = `lat-${i}`;
      sentAt.set(jobId, performance.timeOrigin + performance.now());
      await queue.add('noop', 'x', { removeOnComplete: true, jobId });
      await sleep(1000 / ratePerSec);
    }
    await Promise.race([
      finished,
      sleep(60_000).then(() => Promise.reject(new Error('BullMQ latency run timed out'))),
    ]);
    return { toStartMs, toCompleteMs };
  } finally {
    await stopAll(procs);
    await events.close();
    eventsConnection.disconnect();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}

/**
 * Timer precision of BullMQ's delayed jobs, as droverTimerPrecision measures drover's: the
 * same number of jobs due within the same window (`delay` from now, added ahead in bulks
 * of 1,000), the same workers and concurrency; per job, how late its processor started
 * after BullMQ's own due time (timestamp + delay), in ms.
 */
export async function bullmqTimerPrecision(
  count: number,
  workers: number,
  slots: number,
  warmUp = 0,
  windowMs = 1000,
): Promise<number[]> {
  const name = `drover-bench-timers-${process.pid}`;
  const connection = new IORedis({ ...REDIS, maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  const procs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      startNodeWorker(`bullmq-${i}`, WORKER, [name, String(slots)]),
    ),
  );
  try {
    await warmUpJobs(queue, warmUp);
    const firstDueMs = Date.now() + TIMER_LEAD_MS;
    for (let start = 0; start < count; start += 1000) {
      const ids = Array.from({ length: Math.min(1000, count - start) }, (_, j) => start + j);
      await queue.addBulk(
        ids.map((i) => ({
          name: 'noop',
          data: 'x',
          opts: {
            jobId: `due-${i}`,
            delay: Math.max(0, dueAtMs(firstDueMs, i, count, windowMs) - Date.now()),
          },
        })),
      );
    }
    if (Date.now() >= firstDueMs) throw new Error('adding took longer than the lead time');
    await sleep(firstDueMs + windowMs - Date.now());
    const deadline = performance.now() + 60_000;
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts['failed']! > 0) throw new Error(`BullMQ failed ${counts['failed']} jobs`);
      if (counts['completed'] === warmUp + count) break;
      if (performance.now() > deadline) throw new Error('delayed jobs did not all run in 60 s');
      await sleep(20);
    }
    const jobs = await queue.getJobs(['completed'], 0, warmUp + count - 1);
    // opts.delay: the job's own delay field is 0 once BullMQ has promoted it.
    return jobs
      .filter((job) => job.id?.startsWith('due-'))
      .map((job) => Number(job.returnvalue) - (job.timestamp + (job.opts.delay ?? 0)));
  } finally {
    await stopAll(procs);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}

/** Runs `count` jobs with no delay to completion: the same warm-up drover's timer run gets. */
async function warmUpJobs(queue: Queue, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, count - start) }, (_, j) => start + j);
    await queue.addBulk(
      ids.map((i) => ({ name: 'noop', data: 'x', opts: { jobId: `warm-${i}` } })),
    );
  }
  const deadline = performance.now() + 60_000;
  while ((await queue.getJobCounts('completed'))['completed']! < count) {
    if (performance.now() > deadline) throw new Error('warm-up jobs did not all run in 60 s');
    await sleep(20);
  }
}

/**
 * BullMQ's global rate limiter, as droverRateLimit measures drover's: `count` jobs added at
 * once (bulks of 1,000) to a queue whose workers share `limiter: { max: ratePerSec,
 * duration: 1000 }`, the same workers and concurrency; each processor's start time.
 */
export async function bullmqRateLimit(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
): Promise<number[]> {
  const name = `drover-bench-rate-${process.pid}`;
  const connection = new IORedis({ ...REDIS, maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  const procs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      startNodeWorker(`bullmq-${i}`, WORKER, [name, String(slots), String(ratePerSec), '1000']),
    ),
  );
  try {
    for (let start = 0; start < count; start += 1000) {
      const size = Math.min(1000, count - start);
      await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: 'x' })));
    }
    const deadline = performance.now() + (count / ratePerSec) * 2000 + 30_000;
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts['failed']! > 0) throw new Error(`BullMQ failed ${counts['failed']} jobs`);
      if (counts['completed'] === count) break;
      if (performance.now() > deadline) throw new Error('rate-limited jobs did not all run');
      await sleep(50);
    }
    const jobs = await queue.getJobs(['completed'], 0, count - 1);
    return jobs.map((job) => Number(job.returnvalue));
  } finally {
    await stopAll(procs);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}
