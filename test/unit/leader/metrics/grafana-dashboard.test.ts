import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LeaderMetrics } from '../../../../src/leader/metrics/leader-metrics.js';

// docs/grafana/drover-dashboard.json, the README's Grafana example: every panel queries
// metrics the leader really has (a renamed metric fails here, not on a user's screen).

const DASHBOARD = new URL('../../../../docs/grafana/drover-dashboard.json', import.meta.url);

interface Panel {
  title: string;
  targets: { expr: string; datasource: { uid: string } }[];
}

describe('the Grafana dashboard', () => {
  it("queries only the leader's own metric names, through the importable data source", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: Panel[];
      __inputs: { name: string }[];
    };
    const metrics = new LeaderMetrics({
      counts: () => ({
        byStatus: {
          scheduled: 0,
          pending: 0,
          running: 0,
          completed: 0,
          error: 0,
          cancelled: 0,
        },
        queuedByPriority: { high: 0, medium: 0, low: 0 },
      }),
      members: () => [],
      watchers: () => 0,
      standing: () => ({ active: true, term: 3 }),
    });
    const known = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    expect(dashboard.__inputs.map((i) => i.name)).toEqual(['DS_PROMETHEUS']);
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect(target.datasource.uid).toBe('${DS_PROMETHEUS}');
        const names = target.expr.match(/drover_[a-z_]+/g) ?? [];
        expect(names.length, target.expr).toBeGreaterThan(0);
        for (const name of names) {
          expect(known, `${panel.title}: ${name}`).toContain(
            name.replace(/_(bucket|sum|count)$/, ''),
          );
        }
      }
    }
  });
});
