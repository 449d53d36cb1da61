import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../shared/errors.js';
import { addLogOptions, intOption, listOption, logSettings } from '../shared/config.js';
import type { LogFormat } from '../shared/logger.js';
import { formatHostPort, isLoopback, parseHostPort } from '../shared/net.js';
import type { ServerTlsFiles } from '../shared/tls.js';
import type { SyncMode } from '../scheduler/store/sqlite-store.js';
import {
  DEFAULT_TASK_POLICY,
  POLICY_LIMITS,
  type TaskPolicyDefaults,
} from '../scheduler/retry-policy.js';

/** Everything the leader process is configured with, checked once and frozen. */
export interface LeaderConfig {
  /** Addresses to serve on; each serves every service. */
  readonly listen: readonly string[];
  /** Where the HTTP JSON API listens; undefined when it is off. */
  readonly httpListen: string | undefined;
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly sweepIntervalMs: number;
  readonly memberRetentionMs: number;
  readonly maxPayloadBytes: number;
  readonly shutdownGraceMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly tls: ServerTlsFiles | undefined;
  /** `sqlite`: durable, in `dataDir`; `memory`: nothing survives the process. */
  readonly store: 'sqlite' | 'memory';
  readonly dataDir: string;
  readonly sync: SyncMode;
  readonly reattachGraceMs: number;
  readonly retainFinished: number;
  readonly retainFinishedMs: number;
  /** Retry and timeout policy for tasks that name none. */
  readonly taskPolicy: TaskPolicyDefaults;
  readonly quarantineAfterFailures: number;
  readonly quarantineMs: number;
  /** Task output kept in memory, in characters: per task, and across all tasks. */
  readonly maxOutputChars: number;
  readonly outputMemoryChars: number;
  /** Open watches (gRPC, SSE, output follows): in all, and from one client address. */
  readonly maxWatchers: number;
  readonly maxWatchersPerClient: number;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
}

/** Registers the leader's flags (each with an environment variable) on a command. */
export function addLeaderOptions(command: Command): Command {
  command
    .addOption(
      listOption(
        '--listen <host:port...>',
        'addresses to serve gRPC on (every service on each)',
        'DROVER_LISTEN',
        ['127.0.0.1:50051', '127.0.0.1:50052'],
      ),
    )
    .addOption(
      new Option('--http-listen <host:port>', 'address of the HTTP JSON API')
        .env('DROVER_HTTP_LISTEN')
        .default('127.0.0.1:8080'),
    )
    .addOption(new Option('--no-http', 'serve no HTTP API (gRPC only)'))
    .addOption(
      intOption(
        '--heartbeat-interval-ms <ms>',
        'how often workers heartbeat',
        'DROVER_HEARTBEAT_INTERVAL_MS',
        1000,
      ),
    )
    .addOption(
      intOption(
        '--suspect-after-ms <ms>',
        'silence before a member gets no new work',
        'DROVER_SUSPECT_AFTER_MS',
        2000,
      ),
    )
    .addOption(
      intOption(
        '--dead-after-ms <ms>',
        'silence before a member is dead and its tasks requeued',
        'DROVER_DEAD_AFTER_MS',
        3000,
      ),
    )
    .addOption(
      intOption(
        '--sweep-interval-ms <ms>',
        'how often silent members are checked',
        'DROVER_SWEEP_INTERVAL_MS',
        100,
      ),
    )
    .addOption(
      intOption(
        '--member-retention-ms <ms>',
        'how long dead and left members stay listed',
        'DROVER_MEMBER_RETENTION_MS',
        600_000,
      ),
    )
    .addOption(
      intOption(
        '--max-payload-bytes <n>',
        'largest task payload accepted',
        'DROVER_MAX_PAYLOAD_BYTES',
        1024 * 1024,
      ),
    )
    .addOption(
      intOption(
        '--shutdown-grace-ms <ms>',
        'time given to in-flight calls on SIGTERM',
        'DROVER_SHUTDOWN_GRACE_MS',
        5000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--keepalive-time-ms <ms>',
        'gRPC keepalive ping interval',
        'DROVER_KEEPALIVE_TIME_MS',
        10_000,
      ),
    )
    .addOption(
      intOption(
        '--keepalive-timeout-ms <ms>',
        'gRPC keepalive ping timeout',
        'DROVER_KEEPALIVE_TIMEOUT_MS',
        5_000,
      ),
    )
    .addOption(
      new Option('--store <kind>', 'where the task list lives: sqlite (durable) or memory')
        .choices(['sqlite', 'memory'])
        .env('DROVER_STORE')
        .default('sqlite'),
    )
    .addOption(
      new Option('--data-dir <dir>', 'directory of the durable store (one leader per directory)')
        .env('DROVER_DATA_DIR')
        .default('drover-data'),
    )
    .addOption(
      new Option(
        '--sync <mode>',
        'full: every commit survives power loss; normal: survives a leader crash, not the machine',
      )
        .choices(['full', 'normal'])
        .env('DROVER_SYNC')
        .default('full'),
    )
    .addOption(
      intOption(
        '--reattach-grace-ms <ms>',
        'after a restart, how long running tasks wait for their workers before being requeued',
        'DROVER_REATTACH_GRACE_MS',
        10_000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--retain-finished <n>',
        'finished tasks (completed, failed, cancelled) kept; older ones are pruned',
        'DROVER_RETAIN_FINISHED',
        100_000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--retain-finished-ms <ms>',
        'how long a finished task is kept at most',
        'DROVER_RETAIN_FINISHED_MS',
        7 * 24 * 3600 * 1000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--max-attempts <n>',
        'attempts a task gets unless it says otherwise (failures, timeouts and lost workers count)',
        'DROVER_MAX_ATTEMPTS',
        DEFAULT_TASK_POLICY.maxAttempts,
        1,
      ),
    )
    .addOption(
      intOption(
        '--retry-backoff-ms <ms>',
        'delay before the first retry of a failed or timed-out attempt; doubles per attempt',
        'DROVER_RETRY_BACKOFF_MS',
        DEFAULT_TASK_POLICY.retryBackoffMs,
        0,
      ),
    )
    .addOption(
      intOption(
        '--retry-backoff-max-ms <ms>',
        'longest retry backoff',
        'DROVER_RETRY_BACKOFF_MAX_MS',
        DEFAULT_TASK_POLICY.retryBackoffMaxMs,
        0,
      ),
    )
    .addOption(
      intOption(
        '--task-timeout-ms <ms>',
        'longest an attempt may run unless the task says otherwise; 0: no limit',
        'DROVER_TASK_TIMEOUT_MS',
        DEFAULT_TASK_POLICY.timeoutMs,
        0,
      ),
    )
    .addOption(
      intOption(
        '--quarantine-after-failures <n>',
        'attempts failing in a row on one member before it gets no work for a while; 0: never',
        'DROVER_QUARANTINE_AFTER_FAILURES',
        5,
        0,
      ),
    )
    .addOption(
      intOption(
        '--quarantine-ms <ms>',
        'how long a quarantined member gets no new work',
        'DROVER_QUARANTINE_MS',
        30_000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--max-output-chars <n>',
        'task output kept per task (command stdout/stderr, SDK log lines)',
        'DROVER_MAX_OUTPUT_CHARS',
        1024 * 1024,
        0,
      ),
    )
    .addOption(
      intOption(
        '--output-memory-chars <n>',
        'task output kept across all tasks; finished tasks lose theirs first',
        'DROVER_OUTPUT_MEMORY_CHARS',
        64 * 1024 * 1024,
        0,
      ),
    )
    .addOption(
      intOption(
        '--max-watchers <n>',
        'open watches (WatchTasks, WatchMembers, SSE, output follows) in all',
        'DROVER_MAX_WATCHERS',
        256,
      ),
    )
    .addOption(
      intOption(
        '--max-watchers-per-client <n>',
        'open watches from one client address',
        'DROVER_MAX_WATCHERS_PER_CLIENT',
        64,
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'PEM certificate; enables TLS').env('DROVER_TLS_CERT'),
    )
    .addOption(
      new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('DROVER_TLS_KEY'),
    )
    .addOption(
      new Option(
        '--tls-client-ca <file>',
        'PEM CA; clients must present a cert it signed (mTLS)',
      ).env('DROVER_TLS_CLIENT_CA'),
    )
    .addOption(
      new Option(
        '--allow-insecure',
        'serve plaintext on non-loopback addresses (only inside a private network)',
      )
        .env('DROVER_ALLOW_INSECURE')
        .default(false),
    );
  return addLogOptions(command);
}

/** Checks parsed options and returns the frozen config; throws on a bad combination. */
export function leaderConfigFrom(opts: Record<string, unknown>): LeaderConfig {
  const listen = (opts['listen'] as string[]).map((a) => formatHostPort(parseHostPort(a)));
  if (listen.length === 0) throw new InvalidArgumentError('--listen needs at least one address');
  const num = (key: string): number => opts[key] as number;
  const certFile = opts['tlsCert'] as string | undefined;
  const keyFile = opts['tlsKey'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  const tls =
    certFile && keyFile
      ? { certFile, keyFile, clientCaFile: opts['tlsClientCa'] as string | undefined }
      : undefined;
  const allowInsecure = opts['allowInsecure'] === true || opts['allowInsecure'] === 'true';
  const httpOn = opts['http'] !== false && opts['httpListen'] !== '';
  const httpListen = httpOn
    ? formatHostPort(parseHostPort(opts['httpListen'] as string))
    : undefined;
  const exposed = [...listen, ...(httpListen ? [httpListen] : [])].filter(
    (address) => !isLoopback(parseHostPort(address).host),
  );
  if (!tls && !allowInsecure && exposed.length > 0) {
    throw new InvalidArgumentError(
      `refusing to serve plaintext on ${exposed.join(', ')}: give --tls-cert/--tls-key, ` +
        'or --allow-insecure inside a private network',
    );
  }
  const config: LeaderConfig = {
    listen,
    httpListen,
    heartbeatIntervalMs: num('heartbeatIntervalMs'),
    suspectAfterMs: num('suspectAfterMs'),
    deadAfterMs: num('deadAfterMs'),
    sweepIntervalMs: num('sweepIntervalMs'),
    memberRetentionMs: num('memberRetentionMs'),
    maxPayloadBytes: num('maxPayloadBytes'),
    shutdownGraceMs: num('shutdownGraceMs'),
    keepaliveTimeMs: num('keepaliveTimeMs'),
    keepaliveTimeoutMs: num('keepaliveTimeoutMs'),
    tls,
    store: opts['store'] as 'sqlite' | 'memory',
    dataDir: opts['dataDir'] as string,
    sync: opts['sync'] as SyncMode,
    reattachGraceMs: num('reattachGraceMs'),
    retainFinished: num('retainFinished'),
    retainFinishedMs: num('retainFinishedMs'),
    taskPolicy: Object.freeze({
      maxAttempts: num('maxAttempts'),
      retryBackoffMs: num('retryBackoffMs'),
      retryBackoffMaxMs: num('retryBackoffMaxMs'),
      timeoutMs: num('taskTimeoutMs'),
    }),
    quarantineAfterFailures: num('quarantineAfterFailures'),
    quarantineMs: num('quarantineMs'),
    maxOutputChars: num('maxOutputChars'),
    outputMemoryChars: num('outputMemoryChars'),
    maxWatchers: num('maxWatchers'),
    maxWatchersPerClient: num('maxWatchersPerClient'),
    logLevel: logSettings(opts).level,
    logFormat: logSettings(opts).format,
  };
  if (config.heartbeatIntervalMs >= config.deadAfterMs) {
    throw new InvalidArgumentError('--heartbeat-interval-ms must be below --dead-after-ms');
  }
  const policy = config.taskPolicy;
  if (policy.maxAttempts > POLICY_LIMITS.maxAttempts) {
    throw new InvalidArgumentError(`--max-attempts must not be above ${POLICY_LIMITS.maxAttempts}`);
  }
  if (policy.retryBackoffMs > POLICY_LIMITS.retryBackoffMs) {
    throw new InvalidArgumentError(
      `--retry-backoff-ms must not be above ${POLICY_LIMITS.retryBackoffMs}`,
    );
  }
  if (policy.timeoutMs > POLICY_LIMITS.timeoutMs) {
    throw new InvalidArgumentError(
      `--task-timeout-ms must not be above ${POLICY_LIMITS.timeoutMs}`,
    );
  }
  if (config.suspectAfterMs > config.deadAfterMs) {
    throw new InvalidArgumentError('--suspect-after-ms must not be above --dead-after-ms');
  }
  return Object.freeze(config);
}
