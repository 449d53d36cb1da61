import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { systemClock } from '../shared/clock.js';
import { randomIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import { formatHostPort, parseHostPort } from '../shared/net.js';
import { serverCredentials } from '../shared/tls.js';
import { MemoryTaskStore } from '../scheduler/store/memory-store.js';
import { SqliteTaskStore } from '../scheduler/store/sqlite-store.js';
import type { TaskStore } from '../scheduler/store/store.js';
import type { LeaderConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { buildHttpServer } from './http/server.js';
import { buildLeaderServer, SERVICE_NAMES } from './server.js';

/** Room for the rest of a ScheduleTask message around the largest payload. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;
/**
 * The smallest gRPC message limit, whatever the payload limit: a worker's heartbeat carries
 * completion results (a command's capped stdout and stderr) and output, and one refused
 * message would end its stream and make it dead. Payloads are still checked against
 * --max-payload-bytes by the scheduler; this is only the transport's guard.
 */
const MIN_MESSAGE_LIMIT_BYTES = 4 * 1024 * 1024;

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
      output: { perTaskChars: config.maxOutputChars, totalChars: config.outputMemoryChars },
    },
  );
  await coordinator.start();

  const built = buildLeaderServer(coordinator, logger, {
    maxReceiveMessageBytes: Math.max(
      config.maxPayloadBytes + MESSAGE_OVERHEAD_BYTES,
      MIN_MESSAGE_LIMIT_BYTES,
    ),
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

  const http =
    config.httpListen === undefined ? undefined : await startHttp(config, coordinator, logger);

  const stop = AbortSignal.any([signal, failure.signal]);
  if (!stop.aborted) await once(stop, 'abort');
  await shutdown(logger, config, coordinator, built.server, http, failure.signal.aborted);
  for (const name of ['', ...SERVICE_NAMES]) built.health.setStatus(name, 'NOT_SERVING');
  await store.close();
  if (failure.signal.aborted) {
    logger.fatal({ err: failure.signal.reason }, 'leader stopped after a store failure');
    throw failure.signal.reason;
  }
  logger.info('leader stopped');
}

/** Serves the HTTP JSON API; logs where (tests read the port from that line). */
async function startHttp(
  config: LeaderConfig,
  coordinator: Coordinator,
  logger: Logger,
): Promise<FastifyInstance> {
  const { host, port } = parseHostPort(config.httpListen!);
  const app = await buildHttpServer(coordinator, logger, {
    bodyLimitBytes: config.maxPayloadBytes + MESSAGE_OVERHEAD_BYTES,
    https: config.tls
      ? {
          key: readFileSync(config.tls.keyFile),
          cert: readFileSync(config.tls.certFile),
          clientCa: config.tls.clientCaFile ? readFileSync(config.tls.clientCaFile) : undefined,
        }
      : undefined,
  });
  await app.listen({ host, port });
  const bound = app.server.address();
  const address = formatHostPort({
    host,
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
  });
  logger
    .child({}, { level: 'info' })
    .info({ address, tls: config.tls !== undefined }, 'http listening');
  return app;
}

async function shutdown(
  logger: Logger,
  config: LeaderConfig,
  coordinator: Coordinator,
  server: Server,
  http: FastifyInstance | undefined,
  failed: boolean,
): Promise<void> {
  logger.info({ graceMs: config.shutdownGraceMs }, 'leader shutting down');
  // First: worker streams and watches (gRPC and SSE) end, so the servers can close.
  coordinator.shutdown(failed ? 'leader failed' : 'leader is shutting down');
  await http?.close();
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
