/**
 * drover's chaos run: `npm run chaos` (full) or `npm run chaos -- --smoke` (short, run in
 * CI by test/integration/chaos-smoke.test.ts). A leader, workers and a steady stream of
 * tasks while workers are killed, frozen and cut off at random; see chaos.ts.
 *
 * Settings (environment): CHAOS_DURATION_S (120; smoke 12), CHAOS_WORKERS (4; smoke 3),
 * CHAOS_SLOTS (4), CHAOS_RATE (50 tasks/s; smoke 40), CHAOS_FAULT_EVERY_MS (2000; smoke
 * 800), CHAOS_SEED (1), CHAOS_KEYS (8; smoke 4: concurrency keys the tasks take in turn)
 * CHAOS_KEY_LIMIT (2: each key's limit of running tasks) and CHAOS_TASK_MS ("20-400": each
 * task's work, ms; short tasks at a rate that fills every slot, such as "20-40" at 500/s, make the leader prefetch),
 * CHAOS_DELAYED_EVERY (4: every 4th task is delayed, with no key; 0: none) and
 * CHAOS_MAX_DELAY_MS (1500: the longest delay). The full run uses the leader's default membership timings; smoke
 * uses the tests' fast ones. Results: bench/results/chaos-<time>.json and .md, and
 * chaos-latest.*. Exits 1 if a task was lost, completed twice, an attempt ran twice, a
 * key ran more tasks at once than its limit, or a delayed task started before its run time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FAST_TIMINGS } from '../../test/helpers/processes.js';
import { machine } from '../lib/machine.js';
import { msRange } from '../lib/ms-range.js';
import { progress } from '../lib/progress.js';
import { runChaos, type ChaosSettings } from './chaos.js';
import { renderChaosMarkdown } from './report.js';

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
});
const smoke = flags.smoke;
const env = (name: string, full: string, small: string): number =>
  Number(process.env[name] ?? (smoke ? small : full));

/** The leader's default timings, spelled out so the results say what they were. */
const DEFAULT_TIMINGS = [
  '--heartbeat-interval-ms',
  '1000',
  '--suspect-after-ms',
  '2000',
  '--dead-after-ms',
  '3000',
];

const deadAfterMs = smoke ? 600 : 3000;
const settings: ChaosSettings = {
  durationMs: env('CHAOS_DURATION_S', '120', '12') * 1000,
  workers: env('CHAOS_WORKERS', '4', '3'),
  slots: env('CHAOS_SLOTS', '4', '4'),
  ratePerSec: env('CHAOS_RATE', '50', '40'),
  taskMs: msRange('CHAOS_TASK_MS', process.env['CHAOS_TASK_MS'] ?? '20-400'),
  faultEveryMs: env('CHAOS_FAULT_EVERY_MS', '2000', '800'),
  // Half of the holds end before the dead timeout (suspect, then back), half after.
  faultHoldMs: [Math.round(deadAfterMs / 2), deadAfterMs * 2],
  seed: env('CHAOS_SEED', '1', '1'),
  leaderTimings: smoke ? FAST_TIMINGS : DEFAULT_TIMINGS,
  settleTimeoutMs: 120_000,
  keys: env('CHAOS_KEYS', '8', '4'),
  keyLimit: env('CHAOS_KEY_LIMIT', '2', '2'),
  delayedEvery: env('CHAOS_DELAYED_EVERY', '4', '4'),
  maxDelayMs: env('CHAOS_MAX_DELAY_MS', '1500', '1500'),
};

const report = await runChaos(settings);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const result = {
  kind: 'chaos',
  smoke,
  at: new Date().toISOString(),
  machine: machine(),
  ...report,
};
mkdirSync(flags.out, { recursive: true });
const json = JSON.stringify(result, null, 2);
const markdown = renderChaosMarkdown(result);
for (const name of [`chaos-${stamp}`, 'chaos-latest']) {
  writeFileSync(`${flags.out}/${name}.json`, `${json}\n`);
  writeFileSync(`${flags.out}/${name}.md`, markdown);
}
progress(`chaos: results in ${flags.out}/chaos-${stamp}.json`);
process.stdout.write(markdown);
const overLimit = settings.keys > 0 && report.mostOfOneKeyAtOnce > settings.keyLimit ? 1 : 0;
const broken =
  report.lost +
  report.duplicateCompletions +
  report.sameAttemptRunTwice +
  report.startedBeforeRunAt +
  overLimit;
process.exitCode = broken === 0 ? 0 : 1;
