import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanHistogram } from '../../../../src/leader/metrics/lean-histogram.js';

// The lean histogram must render exactly what prom-client's Histogram renders for the same
// observations: dashboards and alerts read the text, not the class.

const BOUNDS = [0.001, 0.01, 0.1, 1, 10];
const VALUES = [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.7, 3, 10, 11, 250, Number.NaN];

describe('LeanHistogram', () => {
  it("renders the same Prometheus text as prom-client's Histogram", async () => {
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'A histogram.',
      labelNames: ['kind', 'status'],
      buckets: BOUNDS,
      registers: [theirs],
    });
    const ours = new Registry();
    const lean = new LeanHistogram('h_seconds', 'A histogram.', BOUNDS, ours);
    for (const [i, value] of VALUES.entries()) {
      const labels = { kind: i % 2 ? 'a' : 'b"q', status: 'ok' };
      if (Number.isFinite(value)) reference.labels(labels).observe(value);
      lean.labels(labels).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('renders a histogram without labels, and nothing before the first series', async () => {
    const ours = new Registry();
    const lean = new LeanHistogram('commit_seconds', 'Commits.', BOUNDS, ours);
    expect(await ours.metrics()).toBe(
      '# HELP commit_seconds Commits.\n# TYPE commit_seconds histogram\n',
    );
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'commit_seconds',
      help: 'Commits.',
      buckets: BOUNDS,
      registers: [theirs],
    });
    for (const value of [0.0001, 0.2, 20]) {
      lean.labels().observe(value);
      reference.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
