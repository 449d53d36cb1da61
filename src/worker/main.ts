import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { bindOrExplain } from '../shared/bind.js';
import { formatHostPort, parseHostPort } from '../shared/net.js';
import { serveMetrics, WorkerMetrics } from './metrics.js';
import { createLogger } from '../shared/logger.js';
import { channelCredentials } from '../shared/tls.js';
import type { WorkerConfig } from './config.js';
import { commandHandler } from './handlers/command.js';
import { GroupReaper } from './handlers/group-reaper.js';
import { demoHandler } from './handlers/demo.js';
import type { TaskHandler } from './runner.js';
import { startTracing } from '../shared/tracing/start-tracing.js';
import { createWorker, DEFAULT_KIND, type DroverWorker } from './sdk.js';

/**
 * Runs the `drover worker` process until `signal` aborts, then drains and leaves. Kinds:
 * `demo` and `default` run the demo handler; `command` runs allow-listed commands and is
 * only offered to the leader when at least one command is allow-listed.
 */
export async function runWorker(config: WorkerConfig, signal: AbortSignal): Promise<void> {
  const { leader, member, commands, tasks } = config;
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    name: 'worker',
  });
  // Scraped before the worker exists (it binds first), it reports nothing running.
  const made: { worker?: DroverWorker } = {};
  const metrics = new WorkerMetrics({
    running: () => made.worker?.runningCount() ?? 0,
    slots: member.slots,
  });
  // Bound before joining: a port that is taken stops the worker at once, with why.
  const served =
    config.metrics.listen === undefined
      ? undefined
      : await startMetrics(metrics, config.metrics.listen, logger);
  // Off unless the OTEL_* variables ask for it; the run spans then use this provider.
  const tracing = await startTracing('drover-worker');
  if (tracing)
    logger.info({ exporter: process.env['OTEL_TRACES_EXPORTER'] ?? 'otlp' }, 'tracing on');
  // Commands run in process groups of their own; this stops them if the worker is killed.
  const reaper =
    commands.allowList === undefined
      ? undefined
      : new GroupReaper({ killGraceMs: commands.killGraceMs, logger });
  const worker = (made.worker = createWorker({
    handlers: builtInHandlers(config, reaper),
    leaders: leader.addresses,
    id: member.id,
    address: member.address,
    slots: member.slots,
    credentials: channelCredentials(leader.tls),
    token: leader.token,
    reconnect: { giveUpAfterMs: leader.giveUpAfterMs },
    drainTimeoutMs: tasks.drainTimeoutMs,
    resultLimitBytes: tasks.resultLimitBytes,
    stopGraceMs: tasks.stopGraceMs,
    allowedCommands: commands.allow,
    lossFenceMs: reaper?.lossFenceMs,
    logger,
    observer: served === undefined ? undefined : metrics,
    tracing: tracing?.tracer ?? false,
  }));
  const stopRequested = signal.aborted ? Promise.resolve() : once(signal, 'abort');
  // Either the leader was unreachable for too long (done rejects) or we were asked to stop.
  await Promise.race([worker.done, stopRequested]);
  await worker.stop();
  await worker.done;
  await reaper?.close();
  served?.close();
  await tracing?.shutdown();
}

/** Serves the worker's metrics; logs where (tests read the port from that line). */
async function startMetrics(
  metrics: WorkerMetrics,
  listen: string,
  logger: Logger,
): Promise<Server> {
  const { host, port } = parseHostPort(listen);
  const { server, address } = await bindOrExplain('metrics', listen, () =>
    serveMetrics(metrics.registry, host, port),
  );
  logger.info({ address: formatHostPort({ host, port: address.port }) }, 'metrics listening');
  return server;
}

/** The demo handler under two kinds, and the command handler when commands are allowed. */
function builtInHandlers(
  { demo, commands, member }: WorkerConfig,
  reaper: GroupReaper | undefined,
): Record<string, TaskHandler> {
  const demoRun = demoHandler({ defaultMs: demo.defaultMs, maxMs: demo.maxMs });
  const handlers: Record<string, TaskHandler> = { [DEFAULT_KIND]: demoRun, demo: demoRun };
  if (commands.allowList !== undefined) {
    handlers['command'] = commandHandler({
      allow: commands.allowList,
      outputLimitBytes: commands.outputLimitBytes,
      memberId: member.id,
      killGraceMs: commands.killGraceMs,
      env: commands.environment,
      user: commands.runAs,
      allowCwd: commands.allowCwd,
      reaper,
      ...(commands.cwd === undefined ? {} : { cwd: commands.cwd }),
    });
  }
  return handlers;
}
