/**
 * Leader failover, measured: `npm run bench:failover`. Each trial starts two leaders on a
 * fresh PostgreSQL schema (default lease timings: renew 1 s, lease 5 s) and a worker given
 * both, faults the active leader (SIGKILL or SIGSTOP), and times the first task the worker
 * starts after the fault (see trial.ts). Settings (environment): FAILOVER_TRIALS (20),
 * FAILOVER_FAULTS ("SIGKILL,SIGSTOP"), DROVER_BENCH_DATABASE_URL (the loopback test
 * database). Results: bench/results/failover-<time>.json and .md, and failover-latest.*.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { machine } from '../lib/machine.js';
import { runTrial, type FailoverTrial, type LeaderFault } from './trial.js';

const databaseUrl =
  process.env['DROVER_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const trials = Number(process.env['FAILOVER_TRIALS'] ?? 20);
const faults = (process.env['FAILOVER_FAULTS'] ?? 'SIGKILL,SIGSTOP').split(',') as LeaderFault[];
const out = 'bench/results';

const results: FailoverTrial[] = [];
const failures: { fault: LeaderFault; trial: number; error: string }[] = [];
const schemas: string[] = [];
for (const fault of faults) {
  for (let i = 1; i <= trials; i++) {
    const schema = `drover_failover_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    try {
      const trial = await runTrial(fault, { databaseUrl, schema });
      results.push(trial);
      process.stderr.write(
        `${fault} ${i}/${trials}: takeover ${trial.takeoverMs} ms, first start ${trial.firstStartMs} ms\n`,
      );
    } catch (err) {
      // A failover that did not happen is the finding: recorded, counted, and the run exits 1.
      failures.push({ fault, trial: i, error: String(err) });
      process.stderr.write(`${fault} ${i}/${trials}: FAILED ${String(err)}\n`);
    }
  }
}
await dropSchemas(schemas);

const summary = faults.map((fault) => {
  const of = results.filter((r) => r.fault === fault);
  return {
    fault,
    trials: of.length,
    failed: failures.filter((f) => f.fault === fault).length,
    takeoverMs: percentiles(of.map((r) => r.takeoverMs)),
    firstStartMs: percentiles(of.map((r) => r.firstStartMs)),
  };
});
const report = {
  startedAt: new Date().toISOString(),
  command: 'npm run bench:failover',
  machine: machine(),
  settings: { trials, faults, leaseRenewMs: 1000, leaseMs: 5000 },
  summary,
  trials: results,
  failures,
};
const markdown = [
  '| fault | trials | failed | takeover p50 | p99 | max | first task started p50 | p99 | max |',
  '|---|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (s) =>
      `| ${s.fault} | ${s.trials} | ${s.failed} | ${s.takeoverMs.p50} ms | ${s.takeoverMs.p99} ms | ${s.takeoverMs.max} ms | ${s.firstStartMs.p50} ms | ${s.firstStartMs.p99} ms | ${s.firstStartMs.max} ms |`,
  ),
  '',
].join('\n');
mkdirSync(out, { recursive: true });
const stamp = report.startedAt.replace(/[:.]/g, '-');
for (const name of [`failover-${stamp}`, 'failover-latest']) {
  writeFileSync(`${out}/${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${out}/${name}.md`, markdown);
}
process.stdout.write(markdown);
if (failures.length > 0) process.exitCode = 1;

/** p50, p99 and max of a sample (nearest rank). */
function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1)! };
}

async function dropSchemas(names: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const name of names)
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(name)} CASCADE`);
  } finally {
    await client.end();
  }
}
