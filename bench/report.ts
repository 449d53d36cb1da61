import type { KeyThroughputRow } from './flow-section.js';
import type { Results } from './run.js';
import type { Distribution, Repeated } from './lib/stats.js';

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : String(n));
const spread = (r: Repeated): string =>
  r.runs.length > 1 ? `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})` : fmt(r.median);
const d3 = (x: Distribution | undefined): string =>
  x ? `${x.p50} / ${x.p99} / ${x.max}` : 'not measured';

/**
 * The results as markdown: the machine, then one table per measured section (medians with
 * spreads, ratios drover/peer). Sections that were not run are left out.
 */
export function renderMarkdown(results: Results): string {
  const { machine: m } = results;
  const sections = [
    [
      `Measured ${results.startedAt} with \`${results.command}\` on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`,
    ],
    throughput(results),
    latency(results),
    timers(results),
    flowControl(results),
    detection(results),
    members(results),
    queue(results),
    Object.entries(results.skipped).map(([system, why]) => `Skipped ${system}: ${why}.`),
    results.failed.map((what) => `Failed (no figure): ${what}.`),
  ];
  return `${sections
    .filter((lines) => lines.length > 0)
    .map((lines) => lines.join('\n'))
    .join('\n\n')}\n`;
}

function throughput(results: Results): string[] {
  const { throughput: rows, settings: s } = results;
  if (rows.length === 0) return [];
  const systems = [...new Set(rows.map((r) => r.system))];
  const drovers = systems.filter((x) => x.startsWith('drover'));
  const peers = systems.filter((x) => !x.startsWith('drover'));
  const lines = [
    `**Throughput**, tasks/s end to end (schedule, assign, run an empty handler, complete): ${s.tasks.toLocaleString('en-US')} tasks, workers of ${s.slots} slots (peers: the same number of worker processes with concurrency ${s.slots}); median of ${s.runs} run(s), range in brackets. *single*: one schedule call per task, ${s.singleWindow} in flight (ScheduleTask, add, addJob); *stream*: drover only, one \`schedule()\` call per task on the SDK producer (one ScheduleTaskStream; the producer sends the schedules asked for in one event-loop turn as one message), ${s.singleWindow} in flight, compared with the peers' *single* figures (BullMQ's \`add()\`, with ioredis's defaults); *batch*: ${s.batchSize} per call (ScheduleTasks, addBulk, addJobs). *drover* keeps its task list in memory, *drover-sqlite* in its durable SQLite store (the default); *vs memory* is drover-sqlite / drover.`,
    '',
    tableRow([
      'workers',
      'mode',
      'system',
      'tasks/s',
      'vs memory',
      ...peers.flatMap((p) => [p, 'ratio']),
    ]),
    tableRow(Array<string>(5 + 2 * peers.length).fill('---')),
  ];
  for (const workers of s.workers) {
    for (const mode of ['batch', 'single', 'stream'] as const) {
      // drover's stream mode is one schedule() per task too: it is compared with the peers'
      // one-call-per-task figures.
      const row = (system: string) =>
        rows.find(
          (r) =>
            r.system === system &&
            r.workers === workers &&
            r.mode === (!system.startsWith('drover') && mode === 'stream' ? 'single' : mode),
        );
      const memory = row('drover');
      for (const system of drovers) {
        const d = row(system);
        if (!d) continue;
        const vsMemory =
          system !== 'drover' && memory
            ? (d.tasksPerSec.median / memory.tasksPerSec.median).toFixed(2)
            : '-';
        const cells = peers.map((p) => {
          const r = row(p);
          return r
            ? [spread(r.tasksPerSec), (d.tasksPerSec.median / r.tasksPerSec.median).toFixed(2)]
            : ['-', '-'];
        });
        lines.push(
          tableRow([
            String(workers),
            mode,
            system,
            spread(d.tasksPerSec),
            vsMemory,
            ...cells.flat(),
          ]),
        );
      }
    }
  }
  if (s.graphileTasks !== s.tasks && peers.includes('graphile-worker')) {
    lines.push(
      '',
      `graphile-worker ran ${s.graphileTasks.toLocaleString('en-US')} tasks per run (BENCH_GRAPHILE_TASKS) to keep the suite's length reasonable; its rate is still tasks per second.`,
    );
  }
  const cpuRows = rows.filter((r) => r.cpuUsPerTask);
  if (cpuRows.length > 0) {
    lines.push(
      '',
      `**Where drover's CPU goes** in those runs, µs of CPU per task (median over runs): the producer (this harness scheduling over grpc-js), the leader, and all workers together. On ${results.machine.cores} cores shared by all of them, their sum bounds the rate.`,
      '',
      '| workers | mode | system | producer | leader | workers | sum |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...cpuRows.map((r) => {
        const c = r.cpuUsPerTask!;
        return `| ${r.workers} | ${r.mode} | ${r.system} | ${c.producer} | ${c.leader} | ${c.workers} | ${c.producer + c.leader + c.workers} |`;
      }),
    );
  }
  return lines;
}

function latency({ latency: rows, settings: s }: Results): string[] {
  if (rows.length === 0) return [];
  return [
    `**Latency** with idle workers (${s.latencyWorkers} workers x ${s.slots} slots), ${s.latencyTasks} tasks one at a time at ${s.latencyRatePerSec}/s after 20 warm-up tasks, ms: p50 / p99 / max. *drover* schedules with ScheduleTask calls, *(stream)* with the SDK producer (ScheduleTaskStream), *(python client)* with ScheduleTask calls from a Python grpcio client that shares no code with drover (timed from before its call to the handler's start, on the machine's wall clock); *-sqlite*: the durable store.`,
    '',
    '| system | schedule → start | schedule → complete |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| ${row.system} | ${d3(row.toStartMs)} | ${d3(row.toCompleteMs)} |`),
  ];
}

function detection({ detection: rows }: Results): string[] {
  if (rows.length === 0) return [];
  return [
    `**Detection**: a busy worker is killed or frozen; time until its task runs on another member, ms: p50 / p99 / max over the trials.`,
    '',
    '| fault | trials | p50 / p99 / max | leader timings |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (row) => `| ${row.signal} | ${row.trials.n} | ${d3(row.trials)} | ${row.settings} |`,
    ),
  ];
}

function members({ members: rows, settings: s }: Results): string[] {
  if (rows.length === 0) return [];
  return [
    `**Members held**: one leader, simulated idle members from a load process over real heartbeat streams (${s.membersPerConnection} members per HTTP/2 connection), heartbeat every ${s.scaleHeartbeatMs} ms; leader CPU over ${s.scaleWindowMs / 1000} s once all are in (1.00 = one core busy), memory per member from RSS growth, Members RPC ms p50 / p99 / max.`,
    '',
    '| members | alive at end | heartbeats/s | leader CPU (cores) | leader RSS | bytes/member | Members RPC |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${fmt(row.members)} | ${fmt(row.aliveAtEnd)} | ${fmt(row.heartbeatsPerSec)} | ${row.leaderCpuCores.toFixed(2)} | ${row.leaderRssMiB} MiB | ${fmt(row.bytesPerMember)} | ${d3(row.membersRpcMs)} |`,
    ),
  ];
}

function timers({ timers: rows, settings: s }: Results): string[] {
  if (rows.length === 0) return [];
  return [
    `**Timer precision** of delayed tasks: ${s.timerTasks.toLocaleString('en-US')} tasks due ${dueWindow(s.timerWindowMs)}, scheduled ahead in batches of 1,000 (drover: \`run_at\`; BullMQ: delayed jobs with \`delay\`), run by empty handlers on ${s.latencyWorkers}x${s.slots} slots, after ${s.timerWarmUp.toLocaleString('en-US')} tasks with no delay warmed the same processes; how late each handler started after its run time, ms: p50 / p99 / max over ${s.runs} run(s) on fresh processes, pooled. With more tasks due than slots can start in that second, the figure includes the wait for a slot.`,
    '',
    tableRow(['system', 'start minus run time']),
    tableRow(['---', '---']),
    ...rows.map((r) => tableRow([r.system, d3(r.latenessMs)])),
  ];
}

function flowControl({ keys, rates, settings: s }: Results): string[] {
  if (keys.length === 0 && rates.length === 0) return [];
  const lines: string[] = [];
  if (keys.length > 0) {
    lines.push(
      `**Concurrency keys**: the same batch run (${s.keyTasks.toLocaleString('en-US')} tasks, ScheduleTasks of ${s.batchSize}, empty handlers on ${s.latencyWorkers}x${s.slots} slots) with tasks carrying no key, and spread over ${s.keyCount.toLocaleString('en-US')} keys each limited to ${s.keyMaxRunning} running (SetLimit per key): what the bookkeeping costs. Tasks/s, median of ${s.runs} (min-max).`,
      '',
      tableRow(['system', 'no keys', `${s.keyCount} keys of ${s.keyMaxRunning}`, 'ratio']),
      tableRow(['---', '---', '---', '---']),
    );
    for (const system of [...new Set(keys.map((k) => k.system))]) {
      const none = keys.find((k) => k.system === system && k.keys === 0);
      const keyed = keys.find((k) => k.system === system && k.keys > 0);
      const show = (r: KeyThroughputRow | undefined) =>
        r === undefined
          ? '-'
          : `${fmt(r.tasksPerSec.median)} (${fmt(r.tasksPerSec.min)}-${fmt(r.tasksPerSec.max)})`;
      const ratio =
        none && keyed ? `${(keyed.tasksPerSec.median / none.tasksPerSec.median).toFixed(2)}x` : '-';
      lines.push(tableRow([system, show(none), show(keyed), ratio]));
    }
    lines.push('');
  }
  if (rates.length > 0) {
    lines.push(
      `**Rate limits**: ${s.rateTasks.toLocaleString('en-US')} tasks queued at once, held to ${s.ratePerSec}/s (drover: one key with \`--rate ${s.ratePerSec}/1s\`, burst 1; BullMQ: the worker option \`limiter: { max: ${s.ratePerSec}, duration: 1000 }\`, global across its workers), empty handlers on ${s.latencyWorkers}x${s.slots} slots: the rate achieved from the first start to the last, and the most starts in any 1 s window (at most ${s.ratePerSec} if the limit held).`,
      '',
      tableRow(['system', 'achieved/s', 'most in any 1 s']),
      tableRow(['---', '---', '---']),
      ...rates.map((r) =>
        tableRow([r.system, fmt(Math.round(r.achievedPerSec)), fmt(r.mostInAnyWindow)]),
      ),
    );
  }
  return lines;
}

function queue({ queue: q, settings: s }: Results): string[] {
  if (!q) return [];
  return [
    `**Queue depth**: a leader with no workers, filled with pending tasks; at each depth ${s.queueSamples} calls one after another, ms p50 / p99 / max. Leader memory per pending task (RSS growth over the run): ${fmt(q.bytesPerTask)} bytes.`,
    '',
    '| pending | leader RSS | ScheduleTask | GetTasks first page | GetTasks PENDING first page |',
    '| --- | --- | --- | --- | --- |',
    ...q.rows.map(
      (row) =>
        `| ${fmt(row.pending)} | ${row.leaderRssMiB} MiB | ${d3(row.scheduleTaskMs)} | ${d3(row.getTasksFirstPageMs)} | ${d3(row.getPendingFirstPageMs)} |`,
    ),
  ];
}

/** One Markdown table row; no trailing empty cell when a table has no peer columns. */
function tableRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** How the timer section's run times were spread, in words. */
function dueWindow(windowMs: number): string {
  if (windowMs === 0) return 'at the same instant';
  if (windowMs === 1000) return 'within the same second (run times spread evenly over it)';
  return `within ${windowMs} ms (run times spread evenly)`;
}
