import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { SchedulerServiceClient } from '../../src/gen/scheduler/v1/scheduler.js';
import { taskDraft } from '../../src/client/task-draft.js';
import type { ThroughputRun, ThroughputSettings } from '../drover/throughput.js';
import { startNodeWorker, stopAll } from '../lib/child.js';
import { cpuTimeMs } from '../lib/proc.js';
import { produce } from '../lib/produce.js';

const SERVER = fileURLToPath(new URL('./grpc-floor-server.mjs', import.meta.url));

/**
 * The floor for one-call-per-task scheduling: the harness's own grpc-js client calling a
 * bare grpc-js server of drover's SchedulerService (same codecs) that answers ScheduleTask
 * and does nothing else; no task is kept or run. `producer` is the client's CPU per call and
 * `leader` the server's, to read beside drover's single-mode row (issue #17).
 */
export async function grpcFloorThroughput(settings: ThroughputSettings): Promise<ThroughputRun> {
  const server = await startNodeWorker('grpc-floor', SERVER, [], 'floor listening');
  const address = server.lines.find((l) => l.msg === 'floor listening')!['address'] as string;
  const client = new SchedulerServiceClient(address, credentials.createInsecure());
  const call = (tasks: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (tasks === 1) {
        client.scheduleTask({ task: taskDraft({ payload: 'x' }) }, (err) =>
          err ? reject(err) : resolve(),
        );
      } else {
        reject(new Error('the grpc-js floor is measured one call per task only'));
      }
    });
  try {
    for (let i = 0; i < 200; i++) await call(1); // warm both ends, as drover's runs are
    const serverBefore = cpuTimeMs(server.pid);
    const clientBefore = process.cpuUsage();
    const startedMs = performance.now();
    await produce(settings, () => call(1), call);
    const elapsedMs = performance.now() - startedMs;
    const clientCpu = process.cpuUsage(clientBefore);
    const us = (ms: number): number => Math.round((ms * 1000) / settings.tasks);
    return {
      tasksPerSec: settings.tasks / (elapsedMs / 1000),
      cpuUsPerTask: {
        producer: us((clientCpu.user + clientCpu.system) / 1000),
        leader: us(cpuTimeMs(server.pid) - serverBefore),
        workers: 0,
      },
    };
  } finally {
    client.close();
    await stopAll([server]);
  }
}
