import { once } from 'node:events';
import type { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { systemClock } from '../shared/clock.js';
import { randomIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import { serverCredentials } from '../shared/tls.js';
import { MemoryTaskStore } from '../scheduler/store/memory-store.js';
import { SqliteTaskStore } from '../scheduler/store/sqlite-store.js';
import type { TaskStore } from '../scheduler/store/store.js';
import type { LeaderConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { buildLeaderServer, SERVICE_NAMES } from './server.js';

/** Room for the rest of a ScheduleTask message around the largest payload. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

/**
 * Runs a leader until `signal` aborts (main wires SIGINT/SIGTERM to it): builds the
 * dependencies, serves, and on abort stops taking calls, closes worker streams with
 * UNAVAILABLE so workers reconnect elsewhere, and exits cleanly.
 */
export async function runLeader(config: LeaderConfig, signal: AbortSignal): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'leader' });
  const store: TaskStore =
    config.store === 'memory'
      ? new MemoryTaskStore()
      : new SqliteTaskStore({ dataDir: config.dataDir, sync: config.sync });
  const failure = new AbortController();
  const coordinator = new Coordinator(
    { clock: systemClock, ids: randomIds, logger, store, fail: (err) => failure.abort(err) },
    {
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      timing: {
        suspectAfterMs: config.suspectAfterMs,
        deadAfterMs: config.deadAfterMs,
        retentionMs: config.memberRetentionMs,
        quarantineAfterFailures: config.quarantineAfterFailures,
        quarantineMs: config.quarantineMs,
      },
      taskPolicy: config.taskPolicy,
      sweepIntervalMs: config.sweepIntervalMs,
      maxPayloadBytes: config.maxPayloadBytes,
      reattachGraceMs: config.reattachGraceMs,
      retention: { finished: config.retainFinished, ageMs: config.retainFinishedMs },
    },
  );
  await coordinator.start();

  const built = buildLeaderServer(coordinator, logger, {
    maxReceiveMessageBytes: config.maxPayloadBytes + MESSAGE_OVERHEAD_BYTES,
    keepaliveTimeMs: config.keepaliveTimeMs,
    keepaliveTimeoutMs: config.keepaliveTimeoutMs,
  });
  const credentials = serverCredentials(config.tls);
  const addresses: string[] = [];
  for (const address of config.listen) {
    const port = await built.bind(address, credentials);
    addresses.push(address.replace(/:\d+$/, `:${port}`));
  }
  for (const name of ['', ...SERVICE_NAMES]) built.health.setStatus(name, 'SERVING');
  // Tests and tools read the bound ports from this line, so it is written whatever the
  // configured level (a child logger may have its own level).
  logger
    .child({}, { level: 'info' })
    .info({ addresses, tls: config.tls !== undefined }, 'leader listening');

  const stop = AbortSignal.any([signal, failure.signal]);
  if (!stop.aborted) await once(stop, 'abort');
  await shutdown(logger, config, coordinator, built.server, failure.signal.aborted);
  for (const name of ['', ...SERVICE_NAMES]) built.health.setStatus(name, 'NOT_SERVING');
  await store.close();
  if (failure.signal.aborted) {
    logger.fatal({ err: failure.signal.reason }, 'leader stopped after a store failure');
    throw failure.signal.reason;
  }
  logger.info('leader stopped');
}

async function shutdown(
  logger: Logger,
  config: LeaderConfig,
  coordinator: Coordinator,
  server: Server,
  failed: boolean,
): Promise<void> {
  logger.info({ graceMs: config.shutdownGraceMs }, 'leader shutting down');
  coordinator.shutdown(failed ? 'leader failed' : 'leader is shutting down');
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, config.shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
