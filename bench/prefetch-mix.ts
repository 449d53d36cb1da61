/**
 * What deep prefetch costs when one kind's tasks turn long, and what recall and priority
 * on the worker win back: `npx tsx bench/prefetch-mix.ts` (after `npm run build`). Real
 * `drover leader` (default SQLite store) and `drover worker` processes (the built-in
 * handler sleeps its payload's ms), 4 slots each. Per scenario: 1,500 tasks of 1 ms (the
 * workers are judged short), then 24 tasks of 1 s and, right after them, one HIGH task of
 * 1 ms. Measured from the workers' own `task started` lines: how long the HIGH task
 * waited to start, and how long the 24 took (8 slots: 3 s at best).
 *
 * Scenarios: `together` (2 workers from the start) and `late` (the second worker joins
 * after the 24 were handed out, so the first holds them all), each with the leader's
 * defaults and with `--prefetch 8`. PREFETCH_MIX_ROOT runs another checkout's build (an
 * A/B against an older commit). Writes bench/results/prefetch-mix-<time>.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createProducer, TaskPriority } from '../src/client/producer.js';
import { DroverProcess } from '../test/helpers/processes.js';

const ROOT = resolve(process.env['PREFETCH_MIX_ROOT'] ?? '.');
const LONG_TASKS = 24;
const SHORT_TASKS = 1_500;

interface Outcome {
  readonly scenario: string;
  readonly leaderArgs: string[];
  readonly highWaitMs: number;
  readonly longMakespanMs: number;
  readonly longsPerWorker: Record<string, number>;
  readonly handedBack: number;
}

function drover(name: string, args: string[]): DroverProcess {
  // debug: the run reads the workers' per-task lines (task started, finished).
  const child = spawn(process.execPath, [join(ROOT, 'bin/drover.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DROVER_LOG_LEVEL: 'debug' },
  });
  return new DroverProcess(name, child);
}

/** Polls `done` every 20 ms, for at most `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scenario(name: 'together' | 'late', leaderArgs: string[]): Promise<Outcome> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-prefetch-mix-'));
  const processes: DroverProcess[] = [];
  const leader = drover('leader', [
    'leader',
    '--listen',
    '127.0.0.1:0',
    '--no-http',
    '--data-dir',
    dataDir,
    ...leaderArgs,
  ]);
  processes.push(leader);
  const producer = { close: () => {} } as { close(): void };
  try {
    const listening = await leader.waitForLine((l) => l.msg === 'leader listening', 15_000);
    const address = (listening['addresses'] as string[])[0]!;
    const workers: DroverProcess[] = [];
    const startWorker = async (id: string) => {
      const args = ['worker', '--leader', address, '--id', id, '--slots', '4'];
      const proc = drover(id, args);
      processes.push(proc);
      workers.push(proc);
      await proc.waitForLine((l) => l.msg === 'worker joined', 15_000);
    };
    const lines = (msg: string) => workers.flatMap((w) => w.linesWith(msg));
    await startWorker('w1');
    if (name === 'together') await startWorker('w2');
    const client = createProducer({ leader: address });
    Object.assign(producer, { close: () => client.close() });
    const shorts = Array.from({ length: SHORT_TASKS }, (_, i) => ({ id: `s${i}`, payload: '1' }));
    await Promise.all(shorts.map((task) => client.schedule(task)));
    await until(() => lines('task finished').length >= SHORT_TASKS, 60_000, 'the short tasks');
    const longFrom = Date.now();
    const longs = Array.from({ length: LONG_TASKS }, (_, i) => ({ id: `l${i}`, payload: '1000' }));
    await Promise.all(longs.map((task) => client.schedule(task)));
    if (name === 'late') await startWorker('w2');
    const highAt = Date.now();
    await client.schedule({ id: 'high', payload: '1', priority: TaskPriority.TASK_PRIORITY_HIGH });
    const total = SHORT_TASKS + LONG_TASKS + 1;
    await until(() => lines('task finished').length >= total, 60_000, 'every task');
    const started = lines('task started');
    const finished = lines('task finished').filter((l) => String(l['taskId']).startsWith('l'));
    const high = started.find((l) => l['taskId'] === 'high')!;
    const longsPerWorker = Object.fromEntries(
      workers.map((w) => [
        w.name,
        w.linesWith('task started').filter((l) => String(l['taskId']).startsWith('l')).length,
      ]),
    );
    return {
      scenario: name,
      leaderArgs,
      highWaitMs: Number(high['time']) - highAt,
      longMakespanMs: Math.max(...finished.map((l) => Number(l['time']))) - longFrom,
      longsPerWorker,
      handedBack: lines('task handed back unstarted').length,
    };
  } finally {
    producer.close();
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const outcomes: Outcome[] = [];
for (const name of ['together', 'late'] as const) {
  for (const args of [[], ['--prefetch', '8']]) {
    const outcome = await scenario(name, args);
    process.stdout.write(JSON.stringify(outcome) + '\n');
    outcomes.push(outcome);
  }
}
const file = `bench/results/prefetch-mix-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ root: ROOT, outcomes }, null, 2) + '\n');
process.stdout.write(`wrote ${file}\n`);
