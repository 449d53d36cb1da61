import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptObserver } from './runner.js';

/** What the worker's gauges read when scraped. */
export interface WorkerMetricsSources {
  readonly running: () => number;
  readonly slots: number;
}

/**
 * A worker's own Prometheus metrics (issue #19), served by `--metrics-listen`: attempts
 * started and ended by kind and outcome, handler time by kind, running attempts and slots,
 * and Node's process metrics. Labels are kinds and outcomes, never task ids.
 */
export class WorkerMetrics implements AttemptObserver {
  readonly registry = new Registry();
  private readonly startedTotal: Counter<'kind'>;
  private readonly endedTotal: Counter<'kind' | 'outcome'>;
  private readonly handlerSeconds: Histogram<'kind' | 'outcome'>;

  constructor(sources: WorkerMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.startedTotal = new Counter({
      name: 'drover_worker_attempts_started_total',
      help: 'Attempts whose handler started on this worker, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.endedTotal = new Counter({
      name: 'drover_worker_attempts_ended_total',
      help: 'Attempts that ended on this worker, by kind and outcome (completed, failed, stopped).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.handlerSeconds = new Histogram({
      name: 'drover_worker_handler_seconds',
      help: "Time from an attempt's handler start to its end, by kind and outcome.",
      labelNames: ['kind', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300],
      registers,
    });
    new Gauge({
      name: 'drover_worker_running',
      help: 'Attempts whose handler is running now.',
      registers,
      collect() {
        this.set(sources.running());
      },
    });
    new Gauge({
      name: 'drover_worker_slots',
      help: 'Slots this worker offers.',
      registers,
      collect() {
        this.set(sources.slots);
      },
    });
  }

  started(kind: string): void {
    this.startedTotal.inc({ kind });
  }

  ended(kind: string, outcome: 'completed' | 'failed' | 'stopped', ms: number): void {
    this.endedTotal.inc({ kind, outcome });
    this.handlerSeconds.observe({ kind, outcome }, ms / 1000);
  }
}

/**
 * Serves `GET /metrics` from `registry` on `host:port` (plain HTTP; anything else is 404);
 * resolves with the bound address once listening, rejects if it cannot bind.
 */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      // Say what was asked for: "not found: GET /metrics" read as if the metrics were missing.
      const asked = `${request.method ?? ''} ${(request.url ?? '').slice(0, 200)}`;
      response
        .writeHead(404, { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' })
        .end(`not found: ${asked}; this server has GET /metrics only\n`);
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, address: server.address() as AddressInfo };
}
