import { once } from 'node:events';
import { createLogger } from '../shared/logger.js';
import { channelCredentials } from '../shared/tls.js';
import type { WorkerConfig } from './config.js';
import { commandHandler } from './handlers/command.js';
import { demoHandler } from './handlers/demo.js';
import type { TaskHandler } from './runner.js';
import { createWorker, DEFAULT_KIND } from './sdk.js';

/**
 * Runs the `drover worker` process until `signal` aborts, then drains and leaves. Kinds:
 * `demo` and `default` run the demo handler; `command` runs allow-listed commands and is
 * only offered to the leader when at least one command is allow-listed.
 */
export async function runWorker(config: WorkerConfig, signal: AbortSignal): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'worker' });
  const demo = demoHandler({ defaultMs: config.demoDefaultMs, maxMs: config.demoMaxMs });
  const handlers: Record<string, TaskHandler> = { [DEFAULT_KIND]: demo, demo };
  if (config.allowCommands.length > 0) {
    handlers['command'] = commandHandler({
      allow: new Set(config.allowCommands),
      outputLimitBytes: config.outputLimitBytes,
      memberId: config.id,
      killGraceMs: config.commandKillGraceMs,
    });
  }
  const worker = createWorker({
    handlers,
    leaders: config.leaders,
    id: config.id,
    address: config.address,
    slots: config.slots,
    credentials: channelCredentials(config.tls),
    reconnect: { giveUpAfterMs: config.giveUpAfterMs },
    drainTimeoutMs: config.drainTimeoutMs,
    resultLimitBytes: config.resultLimitBytes,
    stopGraceMs: config.stopGraceMs,
    allowedCommands: config.allowCommands,
    logger,
  });
  const stopRequested = signal.aborted ? Promise.resolve() : once(signal, 'abort');
  // Either the leader was unreachable for too long (done rejects) or we were asked to stop.
  await Promise.race([worker.done, stopRequested]);
  await worker.stop();
  await worker.done;
}
