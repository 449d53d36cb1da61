import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { errorMessage, StartupError } from '../shared/errors.js';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { setLogger, type Server } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { systemClock } from '../shared/clock.js';
import { randomIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import { bindOrExplain } from '../shared/bind.js';
import { formatHostPort, isLoopback, parseHostPort } from '../shared/net.js';
import {
  outsideValidity,
  readServerTls,
  serverCredentials,
  type ServerTls,
} from '../shared/tls.js';
import { MemoryTaskStore } from '../scheduler/store/memory-store.js';
import { SqliteTaskStore } from '../scheduler/store/sqlite-store.js';
import type { TaskStore } from '../scheduler/store/store.js';
import type { LeaderConfig, LeaderServerConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import type { LeaderApi } from './leader-api.js';
import { LeaderMetrics } from './metrics/leader-metrics.js';
import type { LeaderRole } from './leader-role.js';
import { SoloLeader } from './solo-leader.js';
import { TaskTracer } from './tracing/task-tracer.js';
import type { Tokens } from './auth/token-file.js';
import { startTracing } from '../shared/tracing/start-tracing.js';
import { buildHttpServer } from './http/server.js';
import { accessControl, warnIfOpen } from './auth/access-control.js';
import type { Admission } from './auth/admission.js';
import type { AuditLog } from './auth/audit-log.js';
import { buildLeaderServer, type LeaderServer } from './grpc/server.js';
import { followReadiness } from './grpc/health-follower.js';
import { systemLeaderTimers } from './leader-timers.js';
import { followTokenFile } from './auth/token-reload.js';

/** The most bytes JSON takes to spell one byte of a string (`\u0001`). */
const JSON_ESCAPE_FACTOR = 6;

/** Room for the rest of a ScheduleTask message around the largest payload. */
const MESSAGE_OVERHEAD_BYTES = 64 * 1024;
/**
 * The smallest gRPC message limit, whatever the payload limit: a worker's heartbeat carries
 * completion results (a command's capped stdout and stderr) and output, and one refused
 * message would end its stream and make it dead. Payloads are still checked against
 * --max-payload-bytes by the scheduler; this is only the transport's guard.
 */
const MIN_MESSAGE_LIMIT_BYTES = 4 * 1024 * 1024;

/** Where a started leader listens, for whoever started it (`drover dev`). */
export interface LeaderListening {
  readonly addresses: readonly string[];
  /** The HTTP API's address; undefined with --no-http. */
  readonly http: string | undefined;
}

/**
 * Runs a leader until `signal` aborts (main wires SIGINT/SIGTERM to it): builds the
 * dependencies, serves, and on abort stops taking calls, closes worker streams with
 * UNAVAILABLE so workers reconnect elsewhere, and exits cleanly.
 */
export async function runLeader(
  config: LeaderConfig,
  signal: AbortSignal,
  onListening: (where: LeaderListening) => void = () => {},
): Promise<void> {
  const logger = leaderLogger(config.log);
  // One registry for the process; its gauges read whichever leader role is serving.
  const current: { api?: LeaderApi; role?: LeaderRole } = {};
  const serving = (): LeaderApi => {
    if (current.api === undefined) throw new Error('not serving yet');
    return current.api;
  };
  const metrics = new LeaderMetrics({
    counts: () => serving().taskCounts(),
    members: () => serving().members(),
    watchers: () => serving().watchers.size,
    standing: () => current.role?.standing() ?? { active: false, term: undefined },
  });
  // A tokens file or TLS files that cannot be used stop the start before the store is opened.
  const { tokens, tokensVersion, admission, audit } = accessControl(config, logger);
  const tls = config.server.tls && readServerTls(config.server.tls);
  const outside = tls && outsideValidity(tls, systemClock.nowMs());
  if (outside) logger.warn(outside, '--tls-cert is not valid now: clients will refuse it');
  // Off unless the OTEL_* variables ask for it; a value it cannot use stops the start.
  const tracing = await startTracing('drover-leader');
  if (tracing)
    logger.info({ exporter: process.env['OTEL_TRACES_EXPORTER'] ?? 'otlp' }, 'tracing on');
  const tracer = tracing && new TaskTracer(tracing.tracer);
  const role = await openRole(config, logger, { metrics, tracer });
  current.api = role.api;
  current.role = role;
  const built = buildLeaderServer(role.api, role, logger, {
    ...grpcServerOptions(config),
    admission,
    audit,
  });
  const extras = { metrics, tokens, audit, tls };
  const { addresses, http } = await listen(config, role, built, logger, extras);
  // SERVING only while it takes work: not while a standby, as /readyz.
  const stopHealth = followReadiness(built.health, () => role.api.ready, systemLeaderTimers);
  const stopTokens = followTokens(config, tokens, tokensVersion, logger);
  logListening(config, addresses, admission, logger);
  const httpAddress = http === undefined ? undefined : logHttpAddress(config, http, logger);
  // The bound ports, not the configured ones (0.0.0.0:0 told nothing).
  warnIfOpen(addresses, httpAddress, tokens, logger);
  role.serving({ address: addresses[0]!, httpAddress });
  onListening({ addresses, http: httpAddress });

  const stop = AbortSignal.any([signal, role.failure]);
  if (!stop.aborted) await once(stop, 'abort');
  const failed = role.failure.aborted;
  await shutdown(logger, config.server, role, built.server, http, failed);
  stopHealth();
  stopTokens();
  await role.close();
  await tracing?.shutdown();
  if (failed) {
    const reason: unknown = role.failure.reason;
    logger.fatal({ err: reason }, 'leader stopped after a store failure');
    // One line for the operator (the log has the details): exit 1, no stack trace.
    throw new StartupError(`the leader stopped: its store failed: ${errorMessage(reason)}`);
  }
  logger.info('leader stopped');
}

/**
 * A leader on PostgreSQL joins the group on that database and serves only while it holds
 * the lease; on SQLite or memory it is alone, its store opened and loaded before it binds.
 */
async function openRole(
  config: LeaderConfig,
  logger: Logger,
  observers: { metrics: LeaderMetrics; tracer: TaskTracer | undefined },
): Promise<LeaderRole> {
  const id = `${hostname()}-${process.pid}-${randomIds.token().slice(0, 6)}`;
  const deps = { clock: systemClock, ids: randomIds, ...observers };
  if (config.store.kind === 'postgres') {
    const { ha, store } = config;
    // Loaded only for a group: a leader on SQLite never loads the PostgreSQL client.
    const { ElectedLeader } = await import('./ha/elected-leader.js');
    const { PostgresTaskStore } = await import('../scheduler/store/postgres-store.js');
    // The database must answer at start (and the schema be usable), as an SQLite file must
    // open: a wrong URL, database or password stops the leader with exit 1 and the reason,
    // instead of a standby retrying forever. Outages later are ridden out.
    await (
      await PostgresTaskStore.open({ url: store.databaseUrl!, schema: store.databaseSchema })
    ).close();
    return new ElectedLeader({
      id,
      url: store.databaseUrl!,
      schema: store.databaseSchema,
      timing: { renewMs: ha.leaseRenewMs, leaseMs: ha.leaseMs },
      advertise: { address: ha.advertise, httpAddress: ha.advertiseHttp },
      logger,
      deps,
      coordinator: coordinatorOptions(config),
    });
  }
  const store = await openStore(config.store, observers.metrics);
  const failure = new AbortController();
  const coordinator = new Coordinator(
    { ...deps, logger, store, fail: (err) => failure.abort(err) },
    coordinatorOptions(config),
  );
  await coordinator.start();
  return new SoloLeader(coordinator, store, failure.signal, id);
}

/** The process's logger; grpc-js's own lines go into it too. */
function leaderLogger(log: LeaderConfig['log']): Logger {
  const logger = createLogger({ level: log.level, format: log.format, name: 'leader' });
  // grpc-js logs to stderr by itself (e.g. a line per failed bind, which the leader reports
  // in its own words); keep its lines in the leader's log, at debug.
  const grpcLog = logger.child({ component: 'grpc-js' });
  setLogger({
    error: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
    info: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
    debug: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
  });
  // Node prints process warnings (pg's note on what sslmode=require means, say) as bare
  // lines on stderr, in the middle of a log that is otherwise one JSON object per line:
  // they go into the log instead, once each, as Node prints them.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) =>
    logger.warn({ warning: warning.name, code: warning.code }, warning.message),
  );
  return logger;
}

async function openStore(store: LeaderConfig['store'], metrics: LeaderMetrics): Promise<TaskStore> {
  const onCommit = (tasks: number, ms: number): void => metrics.observeCommit(tasks, ms);
  return store.kind === 'memory'
    ? new MemoryTaskStore()
    : new SqliteTaskStore({ dataDir: store.dataDir, sync: store.sync, onCommit });
}

/** The coordinator's options, from the config's sections (the coordinator owns its shape). */
function coordinatorOptions(config: LeaderConfig): ConstructorParameters<typeof Coordinator>[1] {
  const { membership } = config;
  return {
    heartbeatIntervalMs: membership.heartbeatIntervalMs,
    timing: {
      suspectAfterMs: membership.suspectAfterMs,
      deadAfterMs: membership.deadAfterMs,
      retentionMs: membership.retentionMs,
      quarantineAfterFailures: membership.quarantineAfterFailures,
      quarantineMs: membership.quarantineMs,
    },
    taskPolicy: config.taskPolicy,
    sweepIntervalMs: membership.sweepIntervalMs,
    maxPayloadBytes: config.tasks.maxPayloadBytes,
    reattachGraceMs: config.tasks.reattachGraceMs,
    prefetch: { maxTasks: config.tasks.prefetch, shortAttemptMs: config.tasks.prefetchShortMs },
    timedStartLeadMs: config.tasks.timedStartLeadMs,
    retention: config.retention,
    output: config.output,
    watchers: config.watchers,
  };
}

function grpcServerOptions(config: LeaderConfig): Parameters<typeof buildLeaderServer>[3] {
  return {
    maxReceiveMessageBytes: Math.max(
      config.tasks.maxPayloadBytes + MESSAGE_OVERHEAD_BYTES,
      MIN_MESSAGE_LIMIT_BYTES,
    ),
    keepaliveTimeMs: config.server.keepaliveTimeMs,
    keepaliveTimeoutMs: config.server.keepaliveTimeoutMs,
  };
}

/**
 * Binds every listener before anything is served: a busy port must not leave a
 * half-started leader (gRPC up, HTTP down) holding the data directory's lock. On a
 * refusal, undoes what was started and rethrows.
 */
async function listen(
  config: LeaderConfig,
  role: LeaderRole,
  built: LeaderServer,
  logger: Logger,
  extras: HttpExtras,
): Promise<{ addresses: string[]; http: FastifyInstance | undefined }> {
  const { listen: grpcAddresses, httpListen } = config.server;
  let http: FastifyInstance | undefined;
  const addresses: string[] = [];
  try {
    const credentials = serverCredentials(extras.tls);
    for (const address of grpcAddresses) {
      const port = await bindOrExplain('gRPC', address, () => built.bind(address, credentials));
      addresses.push(address.replace(/:\d+$/, `:${port}`));
    }
    if (httpListen !== undefined) {
      http = await bindOrExplain('HTTP', httpListen, () =>
        startHttp(config, httpListen, role, logger, extras),
      );
    }
  } catch (err) {
    role.beginShutdown('leader could not start');
    built.server.forceShutdown();
    await http?.close();
    await role.close();
    throw err;
  }
  return { addresses, http };
}

/** Serves the HTTP JSON API; logs where (tests read the port from that line). */
/** What the HTTP API gets besides the config: the metrics registry and the tokens. */
interface HttpExtras {
  readonly metrics: LeaderMetrics;
  readonly tokens: Tokens | undefined;
  readonly audit: AuditLog;
  readonly tls: ServerTls | undefined;
}

async function startHttp(
  config: LeaderConfig,
  address: string,
  role: LeaderRole,
  logger: Logger,
  { metrics, tokens, audit, tls }: HttpExtras,
): Promise<FastifyInstance> {
  const { host, port } = parseHostPort(address);
  const app = await buildHttpServer(role.api, role, logger, {
    // The payload limit is on the payload; JSON may spell each of its bytes in up to six
    // (`\u0001`), and a client that escapes everything must not meet a smaller limit.
    bodyLimitBytes: JSON_ESCAPE_FACTOR * config.tasks.maxPayloadBytes + MESSAGE_OVERHEAD_BYTES,
    metrics: metrics.registry,
    tokens,
    audit,
    loopbackOnly: isLoopback(host),
    allowedHosts: config.server.httpAllowedHosts,
    dashboardDir: config.server.dashboard ? builtDashboard(logger) : undefined,
    https: tls ? { key: tls.key, cert: tls.cert, clientCa: tls.clientCa } : undefined,
  });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}

function logHttpAddress(config: LeaderConfig, app: FastifyInstance, logger: Logger): string {
  const { host, port } = parseHostPort(config.server.httpListen!);
  const bound = app.server.address();
  const address = formatHostPort({
    host,
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
  });
  logger
    .child({}, { level: 'info' })
    .info({ address, tls: config.server.tls !== undefined }, 'http listening');
  return address;
}

async function shutdown(
  logger: Logger,
  config: LeaderServerConfig,
  role: LeaderRole,
  server: Server,
  http: FastifyInstance | undefined,
  failed: boolean,
): Promise<void> {
  logger.info({ graceMs: config.shutdownGraceMs }, 'leader shutting down');
  // First: worker streams and watches (gRPC and SSE) end, so the servers can close.
  role.beginShutdown(failed ? 'leader failed' : 'leader is shutting down');
  // Both servers get the same grace; then every connection still open is cut, so a client
  // that stalls mid-request cannot hold the data directory's lock from a replacement.
  const closeHttp = async (): Promise<void> => {
    if (http === undefined) return;
    const force = setTimeout(() => http.server.closeAllConnections(), config.shutdownGraceMs);
    try {
      await http.close();
    } finally {
      clearTimeout(force);
    }
  };
  const closeGrpc = new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, config.shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  await Promise.all([closeHttp(), closeGrpc]);
}

/**
 * The dashboard's built files (dist/dashboard, made by `npm run build`), or undefined with a
 * warning when they are missing (a leader run from source before any build): the API
 * works without them.
 */
function builtDashboard(logger: Logger): string | undefined {
  const dir = fileURLToPath(new URL('../dashboard/', import.meta.url));
  if (existsSync(`${dir}index.html`) && existsSync(`${dir}app.js`)) return dir;
  logger.warn({ dir }, 'web dashboard not built (npm run build); serving the API without it');
  return undefined;
}

/** The line that says the leader serves, and a warning if it serves beyond loopback open. */
function logListening(
  config: LeaderConfig,
  addresses: readonly string[],
  admission: Admission,
  logger: Logger,
): void {
  const tls = config.server.tls !== undefined;
  const { tokens, workerCertNames } = admission;
  // Tests and tools read the bound ports from this line, so it is written whatever the
  // configured level (a child logger may have its own level).
  logger
    .child({}, { level: 'info' })
    .info(
      { addresses, tls, tokens: tokens?.size ?? 0, workerCertNames: workerCertNames.size },
      'leader listening',
    );
}

/** Follows the tokens file, if the leader has one (see followTokenFile); returns the stop. */
function followTokens(
  config: LeaderConfig,
  tokens: Tokens | undefined,
  since: string | undefined,
  logger: Logger,
): () => void {
  const { tokensFile } = config.server;
  if (!tokens || tokensFile === undefined || since === undefined) return () => {};
  return followTokenFile(tokensFile, tokens, since, { timers: systemLeaderTimers, log: logger });
}
