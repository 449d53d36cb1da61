import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchCluster, type BenchStore } from '../lib/drover-cluster.js';
import { latencySample } from '../lib/latency-sample.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../outside/schedule_at_rate.py', import.meta.url));

/** Why the outside client cannot run here (Debian's python3-grpcio missing), or undefined. */
export function outsideClientUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  return probe.status === 0
    ? undefined
    : `${PYTHON} lacks grpcio/protobuf (apt-get install python3-grpcio python3-protobuf)`;
}

/**
 * Schedule-to-start timed from outside drover (issue #17): a Python grpcio client
 * (`bench/outside/schedule_at_rate.py`, no drover code) schedules one task at a time with
 * ScheduleTask at a steady rate and notes the wall clock before each call; the SDK worker's
 * handler returns its wall-clock reading when it runs. Both on one machine's clock, so the
 * figure includes the client's own gRPC stack, as a user's would.
 */
export async function outsideLatency(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
  store: BenchStore,
): Promise<{ toStartMs: number[]; toCompleteMs: number[] }> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader([], store);
    await cluster.startWorkers(workers, slots);
    const sentAt = await runClient(cluster.address, count, ratePerSec);
    const api = cluster.clients;
    return await latencySample(api, sentAt);
  } finally {
    await cluster.stop();
  }
}

/** Runs the Python client to the end; resolves with each task's send time (epoch ms). */
function runClient(
  address: string,
  count: number,
  ratePerSec: number,
): Promise<Map<string, number>> {
  const child = spawn(PYTHON, [CLIENT, address, String(count), String(ratePerSec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sentAt = new Map<string, number>();
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { id, sentMs } = JSON.parse(line) as { id: string; sentMs: number };
    sentAt.set(id, sentMs);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Bounded: the client's own calls time out after 10 s; this is the backstop.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000 + (count / ratePerSec) * 2_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && sentAt.size === count) resolve(sentAt);
      else reject(new Error(`the outside client exited ${code}: ${stderr.trim() || 'no output'}`));
    });
  });
}
