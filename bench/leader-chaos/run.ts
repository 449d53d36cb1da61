/**
 * drover's leader chaos run: `npm run chaos:leaders`. Three leaders on one PostgreSQL (a
 * private server the run makes), three workers given every leader, and a steady stream of
 * tasks while the active leader is killed (SIGKILL, restarted on its address), frozen
 * (SIGSTOP past its lease, then SIGCONT) or cut off (its network namespace's link down, where
 * the machine allows namespaces), one fault at a time, each after the group recovered.
 * Settings (environment): LEADER_CHAOS_DURATION_S (120), LEADER_CHAOS_RATE (40 tasks/s),
 * LEADER_CHAOS_TASK_MS ("20-400": each task's work; short tasks at a rate that fills every
 * slot, such as "10-20" at 900/s, make the leaders prefetch), LEADER_CHAOS_SEED (1).
 * Default leader timings (lease 5 s, renew 1 s). Results:
 * bench/results/leader-chaos-<time>.json and .md, and leader-chaos-latest.*. Every tenth
 * task works 400-800 ms and logs its progress four times; after the run each one's output
 * must hold those lines once. Exits 1 if a task was lost, completed twice, an attempt ran
 * twice, or a logging task's output lacks a line or holds one twice.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { machine } from '../lib/machine.js';
import { msRange } from '../lib/ms-range.js';
import { progress } from '../lib/progress.js';
import { runLeaderChaos, type LeaderChaosSettings } from './leader-chaos.js';
import { renderLeaderChaosMarkdown } from './report.js';

const settings: LeaderChaosSettings = {
  durationMs: Number(process.env['LEADER_CHAOS_DURATION_S'] ?? 120) * 1000,
  leaders: 3,
  workers: 3,
  slots: 4,
  ratePerSec: Number(process.env['LEADER_CHAOS_RATE'] ?? 40),
  taskMs: msRange('LEADER_CHAOS_TASK_MS', process.env['LEADER_CHAOS_TASK_MS'] ?? '20-400'),
  quietMs: [2_000, 5_000],
  faultHoldMs: [1_000, 8_000],
  seed: Number(process.env['LEADER_CHAOS_SEED'] ?? 1),
  leaderFlags: ['--reattach-grace-ms', '10000'],
  settleTimeoutMs: 120_000,
};

const report = await runLeaderChaos(settings);
const at = new Date().toISOString();
const result = { kind: 'leader-chaos', at, machine: machine(), ...report };
const out = 'bench/results';
mkdirSync(out, { recursive: true });
const markdown = renderLeaderChaosMarkdown(result);
for (const name of [`leader-chaos-${at.replace(/[:.]/g, '-')}`, 'leader-chaos-latest']) {
  writeFileSync(`${out}/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${out}/${name}.md`, markdown);
}
progress(`leader chaos: results in ${out}/leader-chaos-latest.json`);
process.stdout.write(markdown);
const { linesMissing, linesDuplicated, unread } = report.output;
const broken =
  report.lost +
  report.duplicateCompletions +
  report.sameAttemptRunTwice +
  linesMissing +
  linesDuplicated +
  unread;
process.exitCode = broken === 0 ? 0 : 1;
