/**
 * What a durable store costs the leader per task, apart from everything else the cluster
 * does: `npx tsx bench/store-cost.ts`. Each task goes through the three writes of its life
 * (scheduled, running, completed) in group commits of a given size, as the leader's
 * WriteGroup makes them; measured are the leader process's CPU per task (user + system,
 * what the store takes from the event loop and the kernel), PostgreSQL's own CPU per task
 * (summed over its processes on this machine) and the wall time per task (with the
 * fsyncs). No network, no workers, so the figures move far less between runs than the
 * cluster's and show a store change on its own.
 *
 * Settings (environment): STORE_COST_TASKS (30000), STORE_COST_GROUPS ("30,300": tasks per
 * group commit), STORE_COST_STORES ("sqlite,sqlite-normal,postgres"), STORE_COST_RUNS (3,
 * medians reported). Writes bench/results/store-cost-<time>.json and prints a table.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresTaskStore } from '../src/scheduler/store/postgres-store.js';
import { SqliteTaskStore } from '../src/scheduler/store/sqlite-store.js';
import type { TaskStore } from '../src/scheduler/store/store.js';
import type { TaskRecord } from '../src/scheduler/task.js';
import type { MemberId, TaskId } from '../src/shared/ids.js';
import { taskRecord } from '../test/helpers/task-record.js';
import { BENCH_DATABASE_URL } from './lib/drover-cluster.js';
import { cpuTimeOfCommandMs } from './lib/proc.js';

type StoreName = 'sqlite' | 'sqlite-normal' | 'postgres';

const tasks = Number(process.env['STORE_COST_TASKS'] ?? 30_000);
const groups = (process.env['STORE_COST_GROUPS'] ?? '30,300').split(',').map(Number);
const stores = (process.env['STORE_COST_STORES'] ?? 'sqlite,sqlite-normal,postgres').split(
  ',',
) as StoreName[];
const runs = Number(process.env['STORE_COST_RUNS'] ?? 3);

interface Row {
  readonly store: StoreName;
  readonly group: number;
  /** Medians over the runs, µs per task. */
  readonly cpuUs: number;
  /** PostgreSQL's own CPU (all its processes on this machine), postgres only. */
  readonly databaseCpuUs: number | null;
  readonly wallUs: number;
  readonly cpuUsRuns: number[];
  readonly wallUsRuns: number[];
}

/** A store of the kind asked for, in a place of its own, and how to remove that place. */
async function openStore(name: StoreName): Promise<[TaskStore, () => Promise<void>]> {
  if (name === 'postgres') {
    const schema = `drover_store_cost_${randomBytes(5).toString('hex')}`;
    const store = await PostgresTaskStore.open({ url: BENCH_DATABASE_URL, schema });
    return [
      store,
      async () => {
        const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      },
    ];
  }
  const dir = mkdtempSync(join(tmpdir(), 'drover-store-cost-'));
  const store = new SqliteTaskStore({
    dataDir: dir,
    sync: name === 'sqlite-normal' ? 'normal' : 'full',
  });
  return [store, async () => rmSync(dir, { recursive: true, force: true })];
}

/**
 * CPU time of every PostgreSQL process on this machine, µs (clock ticks of 10 ms: enough
 * over a run's seconds). Read before the store closes so its backend is still counted.
 */
function postgresCpuUs(): number {
  return cpuTimeOfCommandMs('postgres') * 1000;
}

/** One run: every task's three writes, `group` tasks per commit; µs per task. */
async function measure(
  name: StoreName,
  group: number,
): Promise<{ cpu: number; wall: number; databaseCpu: number | null }> {
  const [store, remove] = await openStore(name);
  try {
    const records: TaskRecord[] = Array.from({ length: tasks }, (_, i) =>
      taskRecord({ id: `t${i}` as TaskId, seq: i + 1, payload: 'x', createdAtMs: 1 }),
    );
    const database0 = name === 'postgres' ? postgresCpuUs() : 0;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let start = 0; start < tasks; start += group) {
      const part = records.slice(start, start + group);
      await store.save(part);
      for (const r of part) Object.assign(r, running);
      await store.save(part);
      for (const r of part) Object.assign(r, completed);
      await store.save(part);
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = ((performance.now() - wall0) * 1000) / tasks;
    const databaseCpu = name === 'postgres' ? (postgresCpuUs() - database0) / tasks : null;
    return { cpu: (cpu.user + cpu.system) / tasks, wall, databaseCpu };
  } finally {
    await store.close();
    await remove();
  }
}

const running = { status: 'running', attempt: 1, memberId: 'w1' as MemberId, startedAtMs: 2 };
const completed = { status: 'completed', result: 'ok', finishedAtMs: 3, attemptEnded: true };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

const rows: Row[] = [];
for (const group of groups) {
  for (const store of stores) {
    const cpuUsRuns: number[] = [];
    const wallUsRuns: number[] = [];
    const databaseCpuUsRuns: number[] = [];
    // One unmeasured run first: the write path compiled, the files and tables warm.
    await measure(store, group);
    for (let run = 0; run < runs; run++) {
      const { cpu, wall, databaseCpu } = await measure(store, group);
      cpuUsRuns.push(Math.round(cpu * 10) / 10);
      if (databaseCpu !== null) databaseCpuUsRuns.push(Math.round(databaseCpu * 10) / 10);
      wallUsRuns.push(Math.round(wall * 10) / 10);
    }
    rows.push({
      store,
      group,
      cpuUs: median(cpuUsRuns),
      databaseCpuUs: databaseCpuUsRuns.length > 0 ? median(databaseCpuUsRuns) : null,
      wallUs: median(wallUsRuns),
      cpuUsRuns,
      wallUsRuns,
    });
  }
}

const at = new Date().toISOString();
const file = `bench/results/store-cost-${at.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ at, tasks, runs, rows }, null, 2) + '\n');
const lines = [
  `store cost, ${tasks.toLocaleString('en-US')} tasks x 3 writes, median of ${runs} runs (${at})`,
  '| store | tasks per commit | leader CPU µs/task | database CPU µs/task | wall µs/task | CPU runs |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.store} | ${r.group} | ${r.cpuUs} | ${r.databaseCpuUs ?? '-'} | ${r.wallUs} | ${r.cpuUsRuns.join(', ')} |`,
  ),
  `written to ${file}`,
];
process.stdout.write(lines.join('\n') + '\n');
