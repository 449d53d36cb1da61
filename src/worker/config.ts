import { Option, type Command } from 'commander';
import { addLogOptions, intOption, listOption, logSettings } from '../shared/config.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { defaultMemberId } from '../shared/ids.js';
import type { LogFormat } from '../shared/logger.js';
import { formatHostPort, parseHostPort } from '../shared/net.js';
import type { ClientTlsFiles } from '../shared/tls.js';
import { DEFAULT_KILL_GRACE_MS } from './handlers/process-group.js';
import { DEFAULT_RESULT_LIMIT_BYTES } from './outcome.js';
import { DEFAULT_STOP_GRACE_MS } from './runner.js';

/** Everything a `drover worker` process is configured with, checked once and frozen. */
export interface WorkerConfig {
  readonly leaders: readonly string[];
  readonly id: string;
  readonly address: string;
  readonly slots: number;
  /** Commands the `command` handler may run; empty turns the handler off. */
  readonly allowCommands: readonly string[];
  readonly outputLimitBytes: number;
  /** UTF-8 bytes of a task result; a longer one fails the task, its head kept. */
  readonly resultLimitBytes: number;
  /** After a stop, how long a handler may take to end before its slot is freed. */
  readonly stopGraceMs: number;
  /** After SIGTERM to a command's process group, how long until SIGKILL. */
  readonly commandKillGraceMs: number;
  readonly demoDefaultMs: number;
  readonly demoMaxMs: number;
  readonly drainTimeoutMs: number;
  readonly giveUpAfterMs: number;
  readonly tls: ClientTlsFiles | undefined;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
}

/** Registers the worker's flags (each with an environment variable) on a command. */
export function addWorkerOptions(command: Command): Command {
  command
    .addOption(
      listOption('--leader <host:port...>', 'leader addresses, tried in turn', 'DROVER_LEADER', [
        '127.0.0.1:50051',
      ]),
    )
    .addOption(
      new Option('--id <id>', 'member id (default: host name + random suffix)').env(
        'DROVER_WORKER_ID',
      ),
    )
    .addOption(
      new Option('--address <text>', 'address shown in Members (informational)')
        .env('DROVER_WORKER_ADDRESS')
        .default(''),
    )
    // The leader refuses more than 10,000 slots on Join; say so before connecting.
    .addOption(intOption('--slots <n>', 'tasks run at once', 'DROVER_SLOTS', 4, 1, 10_000))
    .addOption(
      listOption(
        '--allow-command <cmd...>',
        'commands the command handler may run (off when none)',
        'DROVER_ALLOW_COMMANDS',
        [],
      ),
    )
    .addOption(
      intOption(
        '--output-limit-bytes <n>',
        'stdout/stderr kept per command',
        'DROVER_OUTPUT_LIMIT_BYTES',
        64 * 1024,
      ),
    )
    .addOption(
      intOption(
        '--result-limit-bytes <n>',
        "largest task result (UTF-8); keep it well below the leader's 4 MiB message limit",
        'DROVER_RESULT_LIMIT_BYTES',
        DEFAULT_RESULT_LIMIT_BYTES,
      ),
    )
    .addOption(
      intOption(
        '--stop-grace-ms <ms>',
        'after a cancel or timeout, time a handler gets to stop before its slot is freed',
        'DROVER_STOP_GRACE_MS',
        DEFAULT_STOP_GRACE_MS,
      ),
    )
    .addOption(
      intOption(
        '--command-kill-grace-ms <ms>',
        "after SIGTERM to a command's process group, time until SIGKILL",
        'DROVER_COMMAND_KILL_GRACE_MS',
        DEFAULT_KILL_GRACE_MS,
      ),
    )
    .addOption(
      intOption(
        '--demo-default-ms <ms>',
        'demo work time when the payload is no number',
        'DROVER_DEMO_DEFAULT_MS',
        1000,
        0,
      ),
    )
    .addOption(
      intOption('--demo-max-ms <ms>', 'longest demo work time', 'DROVER_DEMO_MAX_MS', 600_000, 0),
    )
    .addOption(
      intOption(
        '--drain-timeout-ms <ms>',
        'on SIGTERM, time tasks get to finish',
        'DROVER_DRAIN_TIMEOUT_MS',
        30_000,
        0,
      ),
    )
    .addOption(
      intOption(
        '--give-up-after-ms <ms>',
        'exit non-zero after this long without a leader',
        'DROVER_GIVE_UP_AFTER_MS',
        300_000,
      ),
    )
    .addOption(
      new Option('--tls-ca <file>', "PEM CA that signed the leader's cert; enables TLS").env(
        'DROVER_TLS_CA',
      ),
    )
    .addOption(
      new Option('--tls-cert <file>', 'client certificate for mTLS').env('DROVER_TLS_CERT'),
    )
    .addOption(new Option('--tls-key <file>', 'client key for mTLS').env('DROVER_TLS_KEY'))
    .addOption(new Option('--tls', 'use TLS with the system CAs').env('DROVER_TLS').default(false));
  return addLogOptions(command);
}

/** Checks parsed options and returns the frozen config. */
export function workerConfigFrom(opts: Record<string, unknown>): WorkerConfig {
  const leaders = (opts['leader'] as string[]).map((a) => formatHostPort(parseHostPort(a)));
  if (leaders.length === 0) throw new InvalidArgumentError('--leader needs at least one address');
  const caFile = opts['tlsCa'] as string | undefined;
  const certFile = opts['tlsCert'] as string | undefined;
  const keyFile = opts['tlsKey'] as string | undefined;
  const tlsOn =
    opts['tls'] === true ||
    opts['tls'] === 'true' ||
    caFile !== undefined ||
    certFile !== undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  const num = (key: string): number => opts[key] as number;
  if (num('commandKillGraceMs') >= num('stopGraceMs')) {
    // Else a command that ignores SIGTERM outlives the stop grace, and its task is reported
    // as a handler that did not stop instead of as stopped.
    throw new InvalidArgumentError('--command-kill-grace-ms must be less than --stop-grace-ms');
  }
  return Object.freeze({
    leaders,
    id: (opts['id'] as string | undefined) ?? defaultMemberId(),
    address: opts['address'] as string,
    slots: num('slots'),
    allowCommands: opts['allowCommand'] as string[],
    outputLimitBytes: num('outputLimitBytes'),
    resultLimitBytes: num('resultLimitBytes'),
    stopGraceMs: num('stopGraceMs'),
    commandKillGraceMs: num('commandKillGraceMs'),
    demoDefaultMs: num('demoDefaultMs'),
    demoMaxMs: num('demoMaxMs'),
    drainTimeoutMs: num('drainTimeoutMs'),
    giveUpAfterMs: num('giveUpAfterMs'),
    tls: tlsOn ? { caFile, certFile, keyFile } : undefined,
    logLevel: logSettings(opts).level,
    logFormat: logSettings(opts).format,
  });
}
