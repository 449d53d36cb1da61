import { setTimeout as sleep } from 'node:timers/promises';
import { createProducer, type Producer } from '../../src/client/producer.js';
import { BenchCluster, type BenchStore } from '../lib/drover-cluster.js';
import { latencySample } from '../lib/latency-sample.js';

/**
 * Schedule-to-start and schedule-to-complete at a light steady rate with idle workers.
 * Start is when the handler ran (it returns its clock reading, fractional ms); complete is
 * when the leader recorded the result (its timestamp, whole ms).
 */
export async function droverLatency(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
  via: 'unary' | 'stream' = 'unary',
  store: BenchStore = 'memory',
): Promise<{ toStartMs: number[]; toCompleteMs: number[] }> {
  const cluster = new BenchCluster();
  let producer: Producer | undefined;
  try {
    await cluster.startLeader([], store);
    await cluster.startWorkers(workers, slots);
    const api = cluster.clients;
    const stream = (producer = createProducer({ leader: cluster.address }));
    const schedule = (id: string): Promise<unknown> =>
      via === 'stream' ? stream.schedule({ id, payload: 'x' }) : api.schedule({ id, payload: 'x' });
    // Warm both ends (connections, JIT) before measuring, as a long-running producer is.
    for (let i = 0; i < 20; i++) await schedule(`warm-${i}`);
    const sentAt = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = `lat-${i}`;
      sentAt.set(id, performance.timeOrigin + performance.now());
      await schedule(id);
      await sleep(1000 / ratePerSec);
    }
    return await latencySample(api, sentAt);
  } finally {
    await producer?.close();
    await cluster.stop();
  }
}
