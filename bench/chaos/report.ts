import type { Machine } from '../lib/machine.js';
import type { Distribution } from '../lib/stats.js';
import type { ChaosReport, FaultKind } from './chaos.js';

const KINDS: readonly FaultKind[] = ['kill', 'freeze', 'cut', 'stop'];
const WHAT: Readonly<Record<FaultKind, string>> = {
  kill: 'killed (SIGKILL), restarted',
  freeze: 'frozen (SIGSTOP), resumed',
  cut: 'cut off (link down), reconnected',
  stop: 'stopped (SIGTERM: drains, hands back), restarted',
};

/** The chaos run's results as markdown, for the README and for people. */
export function renderChaosMarkdown(
  result: ChaosReport & { machine: Machine; at: string; smoke: boolean },
): string {
  const s = result.settings;
  const ms = (d: Distribution): string => (d.n === 0 ? '-' : `${d.p50} / ${d.p99}`);
  const lines = [
    `# drover chaos run${result.smoke ? ' (smoke)' : ''}, ${result.at}`,
    '',
    `${result.machine.cores} cores (${result.machine.cpuModel}), Node ${result.machine.node}. ` +
      `${s.workers} workers x ${s.slots} slots, ${s.ratePerSec} tasks/s for ${s.durationMs / 1000} s, ` +
      `a fault every ~${s.faultEveryMs} ms held ${s.faultHoldMs[0]}-${s.faultHoldMs[1]} ms, ` +
      `seed ${s.seed}, leader ${s.leaderTimings.join(' ')}.` +
      (result.cutsSkipped ? ` Cut-offs skipped: ${result.cutsSkipped}.` : ''),
    '',
    `Tasks of ${s.taskMs[0]}-${s.taskMs[1]} ms; attempts handed to a worker whose slots were ` +
      `all busy (prefetch, the leader's \`drover_task_attempts_prefetched_total\`): ` +
      `${result.prefetched ?? 'not read'}.`,
    '',
    ...(s.delayedEvery > 0
      ? [
          `Delayed tasks (every ${s.delayedEvery}th, no key, by 0-${s.maxDelayMs} ms): ` +
            `${result.delayed}; handed to a worker ahead of their run time (timed starts, ` +
            `\`drover_task_attempts_timed_total\`): ${result.timedStarts ?? 'not read'}; ` +
            `starts on a worker before the task's run time: **${result.startedBeforeRunAt}**.`,
          '',
        ]
      : []),
    '| tasks scheduled | completed | lost | failed | duplicated completions | same attempt run twice | tasks re-run (at-least-once) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${result.scheduled} | ${result.completed} | ${result.lost} | ${result.failed} | ` +
      `${result.duplicateCompletions} | ${result.sameAttemptRunTwice} | ${result.tasksRunMoreThanOnce} |`,
    '',
    ...(s.keys > 0
      ? [
          `Concurrency keys: ${s.keys}, each limited to ${s.keyLimit} running at once; the most ` +
            `tasks of one key that ever ran at the same instant on the workers (their own logs, ` +
            `frozen time excluded, a killed worker's tasks running until the kill): ` +
            `**${result.mostOfOneKeyAtOnce}**. ` +
            `Keyed attempts on a worker frozen past their fence time: ${result.wokePastFence.n}; ` +
            `after SIGCONT they went on for ${ms(result.wokePastFence)} ms (p50 / p99) before ` +
            `they ended: a paused process cannot stop itself, so their reports are refused by ` +
            `the attempt number instead (the fencing token).`,
          '',
        ]
      : []),
    '| fault | count | declared dead (stop: left) | time to detect p50 / p99 (ms) | time to restart its tasks p50 / p99 (ms) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...KINDS.filter((kind) => result.faults[kind] > 0).map((kind) => {
      const detected = result.faultLog.filter(
        (f) => f.kind === kind && f.detectedAfterMs !== undefined,
      ).length;
      return (
        `| ${WHAT[kind]} | ${result.faults[kind]} | ${detected} | ` +
        `${ms(result.detectionMs[kind])} | ${ms(result.restartMs[kind])} |`
      );
    }),
    '',
    'A freeze or cut shorter than the dead timeout is not declared dead (the member is suspect, ' +
      'gets no new work, and comes back with its tasks): that is the design, not a miss. ' +
      'A stopped worker is not declared dead: it leaves once its running tasks finish; the ' +
      'time to restart its tasks is for those it handed back unstarted.',
    '',
  ];
  return lines.join('\n');
}
