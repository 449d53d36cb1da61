import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('benchmark harness (smoke: tiny counts)', () => {
  it('runs every measure and writes JSON and markdown results', async () => {
    const out = mkdtempSync(join(tmpdir(), 'drover-bench-'));
    try {
      // The real harness, as `npm run bench -- --smoke` runs it (dist/ is built by npm test).
      await run(join(ROOT, 'node_modules/.bin/tsx'), ['bench/run.ts', '--smoke', '--out', out], {
        cwd: ROOT,
        // About 110 s alone on 2 cores; beside the other test files on a slower machine
        // it has passed 170 s.
        timeout: 300_000,
      });
      const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
        machine: { cores: number; node: string };
        throughput: {
          system: string;
          mode: string;
          tasksPerSec: { median: number };
          cpuUsPerTask?: { leader: number };
        }[];
        latency: { system: string; toStartMs: { n: number } }[];
        timers: { system: string; latenessMs: { n: number }; earliestMs: number }[];
        detection: { signal: string; trials: { n: number } }[];
        skipped: Record<string, string>;
        failed: string[];
        members: { members: number; aliveAtEnd: number }[];
        queue: { rows: { pending: number; scheduleTaskMs: { n: number } }[] };
        keys: { system: string; keys: number; tasksPerSec: { median: number } }[];
        rates: { system: string; limitPerSec: number; mostInAnyWindow: number; tasks: number }[];
      };
      expect(results.failed).toEqual([]);
      expect(results.machine.cores).toBeGreaterThan(0);
      const drover = results.throughput.filter((r) => r.system === 'drover');
      // batch, single and stream, with 1 and 2 workers
      expect(drover.map((r) => r.mode).sort()).toEqual([
        'batch',
        'batch',
        'single',
        'single',
        'stream',
        'stream',
      ]);
      expect(drover.every((r) => r.tasksPerSec.median > 0)).toBe(true);
      // The same measures with the durable store.
      const durable = results.throughput.filter((r) => r.system === 'drover-sqlite');
      expect(durable.map((r) => r.mode).sort()).toEqual(drover.map((r) => r.mode).sort());
      expect(results.latency.map((r) => r.system)).toEqual(
        expect.arrayContaining([
          'drover',
          'drover (stream)',
          'drover-sqlite',
          'drover-sqlite (stream)',
        ]),
      );
      // A peer is either measured or skipped with a reason, never silently missing.
      for (const peer of ['bullmq', 'graphile-worker']) {
        const measured = results.throughput.some((r) => r.system === peer);
        expect(measured || peer in results.skipped).toBe(true);
      }
      // Timed from outside drover (a Python grpcio client): measured, or skipped with why.
      const outside = results.latency.some((r) => r.system === 'drover (python client)');
      expect(outside || 'drover (python client)' in results.skipped).toBe(true);
      // The grpc-js floor: single mode only, with the server's and the client's CPU per call.
      const floor = results.throughput.filter((r) => r.system === 'grpc-js floor');
      expect(floor.map((r) => r.mode)).toEqual(['single', 'single']);
      expect(floor.every((r) => r.cpuUsPerTask && r.cpuUsPerTask.leader > 0)).toBe(true);
      expect(results.latency.find((r) => r.system === 'drover')?.toStartMs.n).toBe(20);
      // Timer precision of delayed tasks: every task measured, for each store (and BullMQ
      // when it runs); none started before its run time (the handler's clock is
      // performance.timeOrigin + now(), the leader's Date.now(): allow 1 ms between them).
      const timers = results.timers.filter((r) => r.system.startsWith('drover'));
      expect(timers.map((r) => [r.system, r.latenessMs.n])).toEqual([
        ['drover', 50],
        ['drover-sqlite', 50],
      ]);
      expect(timers.every((r) => r.earliestMs >= -1)).toBe(true);
      // Issue #18: throughput with and without concurrency keys, per store; rate limiters.
      expect(results.keys.map((r) => [r.system, r.keys])).toEqual([
        ['drover', 0],
        ['drover', 10],
        ['drover-sqlite', 0],
        ['drover-sqlite', 10],
      ]);
      expect(results.keys.every((r) => r.tasksPerSec.median > 0)).toBe(true);
      const rates = results.rates.filter((r) => r.system.startsWith('drover'));
      expect(rates.map((r) => r.system)).toEqual(['drover', 'drover-sqlite']);
      for (const r of results.rates) expect(r.mostInAnyWindow).toBeLessThanOrEqual(r.limitPerSec);
      expect(results.detection.map((d) => [d.signal, d.trials.n])).toEqual([
        ['SIGKILL', 2],
        ['SIGSTOP', 2],
      ]);
      expect(results.members.map((r) => [r.members, r.aliveAtEnd])).toEqual([[50, 50]]);
      expect(results.queue.rows.map((r) => [r.pending, r.scheduleTaskMs.n])).toEqual([
        [0, 10],
        [2000, 10],
      ]);
      expect(readFileSync(join(out, 'latest.md'), 'utf8')).toMatch(
        /\| workers \| mode \| system \| tasks\/s \| vs memory \|/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 320_000);
});
