import type { Results } from './run.js';
import type { Repeated } from './lib/stats.js';

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : String(n));
const spread = (r: Repeated): string =>
  r.runs.length > 1 ? `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})` : fmt(r.median);

/** The results as markdown tables: medians with spreads, ratios drover/peer, the machine. */
export function renderMarkdown(results: Results): string {
  const { machine: m, settings: s } = results;
  const lines: string[] = [];
  lines.push(
    `Measured ${results.startedAt} with \`${results.command}\` on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`,
  );
  lines.push('');
  const peers = [...new Set(results.throughput.map((r) => r.system))].filter((x) => x !== 'drover');
  lines.push(
    `**Throughput**, tasks/s end to end (schedule, assign, run an empty handler, complete): ${s.tasks.toLocaleString('en-US')} tasks, workers of ${s.slots} slots (peers: the same number of worker processes with concurrency ${s.slots}); median of ${s.runs} run(s), range in brackets. *single*: one schedule call per task, ${s.singleWindow} in flight; *batch*: ${s.batchSize} per call (ScheduleTasks, addBulk, addJobs).`,
  );
  lines.push('');
  lines.push(`| workers | mode | drover | ${peers.map((p) => `${p} | drover/${p}`).join(' | ')} |`);
  lines.push(`| --- | --- | --- | ${peers.map(() => '--- | ---').join(' | ')} |`);
  for (const workers of s.workers) {
    for (const mode of ['batch', 'single'] as const) {
      const row = (system: string) =>
        results.throughput.find(
          (r) => r.system === system && r.workers === workers && r.mode === mode,
        );
      const d = row('drover');
      if (!d) continue;
      const cells = peers.map((p) => {
        const r = row(p);
        return r
          ? `${spread(r.tasksPerSec)} | ${(d.tasksPerSec.median / r.tasksPerSec.median).toFixed(2)}`
          : '- | -';
      });
      lines.push(`| ${workers} | ${mode} | ${spread(d.tasksPerSec)} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(
    `**Latency** with idle workers (${s.latencyWorkers} workers x ${s.slots} slots), ${s.latencyTasks} tasks one at a time at ${s.latencyRatePerSec}/s, ms: p50 / p99 / max.`,
  );
  lines.push('');
  lines.push('| system | schedule → start | schedule → complete |');
  lines.push('| --- | --- | --- |');
  const d3 = (x: { p50: number; p99: number; max: number } | undefined) =>
    x ? `${x.p50} / ${x.p99} / ${x.max}` : 'not measured';
  for (const row of results.latency)
    lines.push(`| ${row.system} | ${d3(row.toStartMs)} | ${d3(row.toCompleteMs)} |`);
  lines.push('');
  lines.push(
    `**Detection**: a busy worker is killed or frozen; time until its task runs on another member, ms: p50 / p99 / max over the trials.`,
  );
  lines.push('');
  lines.push('| fault | trials | p50 / p99 / max | leader timings |');
  lines.push('| --- | --- | --- | --- |');
  for (const row of results.detection)
    lines.push(`| ${row.signal} | ${row.trials.n} | ${d3(row.trials)} | ${row.settings} |`);
  for (const [system, why] of Object.entries(results.skipped))
    lines.push('', `Skipped ${system}: ${why}.`);
  return `${lines.join('\n')}\n`;
}
