import type { Registry } from 'prom-client';

/** One labelled series of a {@link LeanHistogram}: observe is a bucket search and two adds. */
export interface LeanSeries {
  observe(value: number): void;
}

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the leader's per-task hot path, rendered by prom-client's own
 * registry (same text, same `_bucket`/`_sum`/`_count` series as prom-client's Histogram).
 * Why not prom-client's Histogram: its observe() re-checks and re-hashes the labels on every
 * call, even through `labels()`: 2.5 µs a task in the leader's CPU profile (issue #19's
 * benchmark); a series here is looked up once and then only counted.
 */
export class LeanHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    // The registry only calls get(); the cast is to the shape it declares.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series for these label values (made once, then kept: label values stay bounded). */
  labels(labels: Readonly<Record<string, string>> = {}): LeanSeries {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        labels,
        counts: new Array<number>(this.upperBounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, series);
    }
    const found = series;
    const bounds = this.upperBounds;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) return;
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        found.counts[i]!++;
        found.sum += value;
        found.count++;
      },
    };
  }

  /** What prom-client's registry renders: the same values its Histogram would give. */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] =
      [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({
          labels: { le, ...labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { le: '+Inf', ...labels },
        value: count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: { ...labels }, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}
