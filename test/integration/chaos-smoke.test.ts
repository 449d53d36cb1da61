import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ChaosReport } from '../../bench/chaos/chaos.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `npm run chaos -- --smoke` with extra settings; resolves with its report. */
async function smokeRun(env: Record<string, string> = {}): Promise<ChaosReport> {
  const out = mkdtempSync(join(tmpdir(), 'drover-chaos-'));
  try {
    // The real chaos run, as `npm run chaos -- --smoke` runs it (dist/ is built by npm test).
    // It exits 1 when an invariant breaks; the JSON says which.
    await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['bench/chaos/run.ts', '--smoke', '--out', out],
      { cwd: ROOT, timeout: 170_000, env: { ...process.env, ...env } },
    ).catch((err: unknown) => err);
    return JSON.parse(readFileSync(join(out, 'chaos-latest.json'), 'utf8')) as ChaosReport;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** What every chaos run must hold, whatever its settings. */
function expectInvariants(report: ChaosReport): void {
  expect(report.scheduled).toBeGreaterThan(100);
  expect({
    lost: report.lost,
    failed: report.failed,
    duplicateCompletions: report.duplicateCompletions,
    sameAttemptRunTwice: report.sameAttemptRunTwice,
  }).toEqual({ lost: 0, failed: 0, duplicateCompletions: 0, sameAttemptRunTwice: 0 });
  expect(report.completed).toBe(report.scheduled);
  // Issue #18: no concurrency key ever ran more tasks at once than its limit, on the
  // workers' own clocks, through kills, freezes and cuts (keyed fencing).
  expect(report.settings.keys).toBeGreaterThan(0);
  expect(report.mostOfOneKeyAtOnce).toBeLessThanOrEqual(report.settings.keyLimit);
  // Delayed tasks, through the same faults: none started before its run time.
  expect(report.delayed).toBeGreaterThan(20);
  expect(report.startedBeforeRunAt).toBe(0);
  // Faults really happened, every kill was noticed, and every stopped worker left (having
  // handed back what it held unstarted: those count above, none lost or run twice).
  const { kill, freeze, cut, stop } = report.faults;
  expect(kill + freeze + cut + stop).toBeGreaterThan(3);
  expect(report.detectionMs.kill.n).toBe(kill);
  expect(report.detectionMs.stop.n).toBe(stop);
}

describe('chaos run (smoke: 12 s, fast timings)', () => {
  it('loses no task, completes none twice, runs no attempt twice and no key past its limit while workers fail', async () => {
    const report = await smokeRun();
    expectInvariants(report);
    expect(report.mostOfOneKeyAtOnce).toBe(report.settings.keyLimit);
    // With slots to spare, delayed tasks went to workers ahead of their run time (timed
    // starts). Not asked of the run below: its workers are always busy, and on a loaded
    // machine their tasks may not count as short, so none may have room for one.
    expect(report.timedStarts).toBeGreaterThan(0);
  }, 180_000);

  it('holds the same with short tasks at a rate that fills every slot, so the leader prefetches', async () => {
    // 12 slots of 20-40 ms tasks start at most ~400 a second: 500/s keeps every slot busy
    // (tasks of 1-10 ms at 1,500/s did too, but loaded a shared CI machine so much that
    // faulted workers came back too slowly for the next faults).
    const report = await smokeRun({ CHAOS_TASK_MS: '20-40', CHAOS_RATE: '500', CHAOS_KEYS: '8' });
    expectInvariants(report);
    // Tasks really went ahead to busy workers, through the same faults.
    expect(report.prefetched).toBeGreaterThan(0);
  }, 180_000);
});
