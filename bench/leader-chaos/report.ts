import type { Machine } from '../lib/machine.js';
import type { Distribution } from '../lib/stats.js';
import type { LeaderChaosReport, LeaderFaultKind } from './leader-chaos.js';

const KINDS: readonly LeaderFaultKind[] = ['kill', 'freeze', 'cut'];
const WHAT: Readonly<Record<LeaderFaultKind, string>> = {
  kill: 'active leader killed (SIGKILL), restarted',
  freeze: 'active leader frozen (SIGSTOP), resumed',
  cut: 'active leader cut off (link down), reconnected',
};

/** The leader chaos run's results as markdown, for the README and for people. */
export function renderLeaderChaosMarkdown(
  result: LeaderChaosReport & { machine: Machine; at: string },
): string {
  const s = result.settings;
  const ms = (d: Distribution): string => (d.n === 0 ? '-' : `${d.p50} / ${d.p99}`);
  return [
    `# drover leader chaos run, ${result.at}`,
    '',
    `${result.machine.cores} cores (${result.machine.cpuModel}), Node ${result.machine.node}. ` +
      `${s.leaders} leaders on one PostgreSQL, ${s.workers} workers x ${s.slots} slots, ` +
      `${s.ratePerSec} tasks/s for ${s.durationMs / 1000} s, a fault of the active leader ` +
      `every ${s.quietMs[0]}-${s.quietMs[1]} ms after recovery, held ${s.faultHoldMs[0]}-${s.faultHoldMs[1]} ms, ` +
      `seed ${s.seed}, default lease timings.` +
      (result.cutsSkipped ? ` Cut-offs skipped: ${result.cutsSkipped}.` : ''),
    '',
    '| tasks scheduled | refused while failing over | completed | lost | failed | duplicated completions | same attempt run twice |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${result.scheduled} | ${result.refusedSchedules} | ${result.completed} | ${result.lost} | ${result.failed} | ` +
      `${result.duplicateCompletions} | ${result.sameAttemptRunTwice} |`,
    '',
    `Output: every tenth task (400-800 ms) logs its progress four times; of the ${result.output.tasks} ` +
      `that completed, the last attempt's output lacked ${result.output.linesMissing} line(s) and held ` +
      `${result.output.linesDuplicated} twice` +
      (result.output.unread > 0 ? ` (${result.output.unread} could not be read)` : '') +
      '.',
    '',
    '| fault | count | another leader took over, p50 / p99 (ms) | first task started after it, p50 / p99 (ms) |',
    '| --- | ---: | ---: | ---: |',
    ...KINDS.filter((kind) => result.faults[kind] > 0).map(
      (kind) =>
        `| ${WHAT[kind]} | ${result.faults[kind]} | ${ms(result.takeoverMs[kind])} | ${ms(result.firstStartMs[kind])} |`,
    ),
    '',
    'A freeze or cut shorter than the lease ends with the same leader active (no take-over, ' +
      'so none is counted); refused schedules were never acknowledged, so none of them is lost.',
    '',
  ].join('\n');
}
