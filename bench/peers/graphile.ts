import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { produce } from '../lib/produce.js';
import { startNodeWorker, stopAll } from '../lib/child.js';
import type { ThroughputRun, ThroughputSettings } from '../drover/throughput.js';

const WORKER = fileURLToPath(new URL('./graphile-worker.mjs', import.meta.url));
/** The database the machine's PostgreSQL offers (trust auth); override with BENCH_PG. */
export const PG_URL = process.env['BENCH_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why graphile-worker cannot be measured here, or undefined when PostgreSQL answers. */
export async function graphileUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function utils(): Promise<WorkerUtils> {
  const workerUtils = await makeWorkerUtils({ connectionString: PG_URL });
  await workerUtils.migrate();
  // Start from an empty queue so leftovers of an earlier run do not count.
  await workerUtils.withPgClient((client) =>
    client.query('delete from graphile_worker._private_jobs'),
  );
  return workerUtils;
}

async function openJobs(workerUtils: WorkerUtils): Promise<number> {
  const { rows } = await workerUtils.withPgClient((client) =>
    client.query<{ n: string }>('select count(*) as n from graphile_worker._private_jobs'),
  );
  return Number(rows[0]!.n);
}

/** graphile-worker end to end: the same tasks, worker processes and concurrency as drover's. */
export async function graphileThroughput(settings: ThroughputSettings): Promise<ThroughputRun> {
  const workerUtils = await utils();
  const workers = await Promise.all(
    Array.from({ length: settings.workers }, (_, i) =>
      startNodeWorker(`graphile-${i}`, WORKER, [
        PG_URL,
        String(settings.slots),
        String(poolSize(settings.workers, settings.slots)),
      ]),
    ),
  );
  try {
    const startedMs = performance.now();
    await produce(
      settings,
      () => workerUtils.addJob('noop', {}),
      (size) =>
        workerUtils.addJobs(
          Array.from({ length: size }, () => ({ identifier: 'noop', payload: {} })),
        ),
    );
    // Completed jobs are deleted: done when the table is empty (bounded).
    const deadline = performance.now() + 10 * 60_000;
    while ((await openJobs(workerUtils)) > 0) {
      if (performance.now() > deadline)
        throw new Error('graphile-worker run did not finish in 10 minutes');
      await sleep(10);
    }
    return { tasksPerSec: settings.tasks / ((performance.now() - startedMs) / 1000) };
  } finally {
    await stopAll(workers);
    await workerUtils.release();
  }
}

/** Schedule-to-start latency at a light steady rate (the task records its start time). */
export async function graphileLatency(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
): Promise<{ toStartMs: number[] }> {
  const workerUtils = await utils();
  await workerUtils.withPgClient(async (client) => {
    await client.query(
      'create table if not exists bench_starts (id text primary key, started_ms double precision)',
    );
    await client.query('truncate bench_starts');
  });
  const procs = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      startNodeWorker(`graphile-${i}`, WORKER, [PG_URL, String(slots)]),
    ),
  );
  const sentAt = new Map<string, number>();
  try {
    // Warm-up, as for drover: these jobs are not in sentAt, so they are not counted.
    for (let i = 0; i < 20; i++) await workerUtils.addJob('stamp', { id: `warm-${i}` });
    for (let i = 0; i < count; i++) {
      const id = `lat-${i}`;
      sentAt.set(id, performance.timeOrigin + performance.now());
      await workerUtils.addJob('stamp', { id });
      await sleep(1000 / ratePerSec);
    }
    const deadline = performance.now() + 60_000;
    while ((await openJobs(workerUtils)) > 0) {
      if (performance.now() > deadline) throw new Error('graphile-worker latency run timed out');
      await sleep(10);
    }
    const { rows } = await workerUtils.withPgClient((client) =>
      client.query<{ id: string; started_ms: number }>('select id, started_ms from bench_starts'),
    );
    return {
      toStartMs: rows.filter((r) => sentAt.has(r.id)).map((r) => r.started_ms - sentAt.get(r.id)!),
    };
  } finally {
    await stopAll(procs);
    await workerUtils.release();
  }
}

/**
 * Connections per graphile-worker process: concurrency + 1, but all processes together
 * stay under PostgreSQL's default max_connections (100) with room for the harness.
 */
function poolSize(workers: number, concurrency: number): number {
  return Math.max(2, Math.min(concurrency + 1, Math.floor(80 / workers)));
}
