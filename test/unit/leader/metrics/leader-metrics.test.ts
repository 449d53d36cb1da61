import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LeaderMetrics,
  MAX_METRIC_KINDS,
  OTHER_KINDS,
} from '../../../../src/leader/metrics/leader-metrics.js';
import { taskRecord } from '../../../helpers/task-record.js';

/** Metrics over a leader holding no tasks and no members. */
function emptyLeaderMetrics(
  standing: { active: boolean; term: number | undefined } = { active: true, term: 3 },
): LeaderMetrics {
  return new LeaderMetrics({
    counts: () => ({
      byStatus: { pending: 0, scheduled: 0, running: 0, completed: 0, error: 0, cancelled: 0 },
      queuedByPriority: { high: 0, medium: 0, low: 0 },
    }),
    members: () => [],
    watchers: () => 0,
    standing: () => standing,
  });
}

/** `name{labels} value` lines of one metric, as scraped. */
async function lines(metrics: LeaderMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('LeaderMetrics', () => {
  it("lists in the README's metrics table every drover_ metric it serves, and no other", async () => {
    const served = (await emptyLeaderMetrics().registry.getMetricsAsJSON())
      .map((metric) => metric.name)
      .filter((name) => name.startsWith('drover_'));
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    // Table rows only: `| \`drover_x\`, \`drover_y\` | type | ...`.
    const documented = readme
      .split('\n')
      .filter((line) => line.startsWith('| `drover_'))
      .flatMap((line) =>
        [...line.split('|')[1]!.matchAll(/`(drover_[a-z_]+)`/g)].map((m) => m[1]!),
      );
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
  });

  it("reports whether the leader acts, and its term (a group's), for failover alerts", async () => {
    const active = emptyLeaderMetrics();
    expect(await lines(active, 'drover_leader_active')).toEqual(['drover_leader_active 1']);
    expect(await lines(active, 'drover_leader_term')).toEqual(['drover_leader_term 3']);
    const standby = emptyLeaderMetrics({ active: false, term: undefined });
    expect(await lines(standby, 'drover_leader_active')).toEqual(['drover_leader_active 0']);
    expect(await lines(standby, 'drover_leader_term')).toEqual(['drover_leader_term 0']);
  });

  it('reports every member state, at 0 when none is in it', async () => {
    expect(await lines(emptyLeaderMetrics(), 'drover_members')).toEqual([
      'drover_members{state="joining"} 0',
      'drover_members{state="alive"} 0',
      'drover_members{state="suspect"} 0',
      'drover_members{state="draining"} 0',
      'drover_members{state="dead"} 0',
      'drover_members{state="left"} 0',
    ]);
  });

  it(`keeps ${MAX_METRIC_KINDS} kinds apart and counts the rest as ${OTHER_KINDS}`, async () => {
    const metrics = emptyLeaderMetrics();
    const kinds = MAX_METRIC_KINDS + 50;
    for (let i = 0; i < kinds; i++) {
      const task = taskRecord({ seq: i + 1, kind: `kind-${i}` });
      metrics.count({ what: 'scheduled', task });
      metrics.count({ what: 'finished', task, status: 'completed' });
    }
    const scheduled = await lines(metrics, 'drover_tasks_scheduled_total');
    expect(scheduled).toHaveLength(MAX_METRIC_KINDS + 1);
    expect(scheduled).toContain('drover_tasks_scheduled_total{kind="kind-0"} 1');
    expect(scheduled).toContain(`drover_tasks_scheduled_total{kind="${OTHER_KINDS}"} 50`);
    expect(scheduled.some((line) => line.includes(`kind-${MAX_METRIC_KINDS}"`))).toBe(false);
    const finished = await lines(metrics, 'drover_tasks_finished_total');
    expect(finished).toHaveLength(MAX_METRIC_KINDS + 1);
    expect(finished).toContain(
      `drover_tasks_finished_total{kind="${OTHER_KINDS}",status="completed"} 50`,
    );
  });

  it('counts attempts handed ahead of a free slot (prefetch) or of their run time (timed), from 0', async () => {
    const metrics = emptyLeaderMetrics();
    expect(await lines(metrics, 'drover_task_attempts_prefetched_total')).toEqual([
      'drover_task_attempts_prefetched_total 0',
    ]);
    expect(await lines(metrics, 'drover_task_attempts_timed_total')).toEqual([
      'drover_task_attempts_timed_total 0',
    ]);
    metrics.countAhead({ prefetched: 3, timed: 1 });
    metrics.countAhead({ prefetched: 2, timed: 0 });
    expect(await lines(metrics, 'drover_task_attempts_prefetched_total')).toEqual([
      'drover_task_attempts_prefetched_total 5',
    ]);
    expect(await lines(metrics, 'drover_task_attempts_timed_total')).toEqual([
      'drover_task_attempts_timed_total 1',
    ]);
    expect(await lines(metrics, 'drover_task_recalls_total')).toEqual([
      'drover_task_recalls_total 0',
    ]);
    metrics.countRecalls(4);
    expect(await lines(metrics, 'drover_task_recalls_total')).toEqual([
      'drover_task_recalls_total 4',
    ]);
  });
});
