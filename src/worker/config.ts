import type { Command } from 'commander';
import { InvalidArgumentError } from '../shared/errors.js';
import { defaultMemberId } from '../shared/ids.js';
import { formatHostPort, isLoopback, parseHostPort } from '../shared/net.js';
import { addOptions, deepFreeze, readSections } from '../shared/options/table.js';
import type { ClientTlsFiles } from '../shared/tls.js';
import { statSync } from 'node:fs';
import { tokenFrom } from '../shared/token-text.js';
import { CommandAllowList } from './handlers/command-allow-list.js';
import { commandUser, type CommandUser } from './handlers/command-user.js';
import { commandEnv } from './handlers/command.js';
import { WORKER_OPTIONS, type WorkerSections } from './options.js';

/** How the worker reaches its leaders: compiled from the `leader` and `tls` option sections. */
export interface WorkerLeaderConfig {
  /** Leader addresses, tried in turn. */
  readonly addresses: readonly string[];
  /** Exit non-zero after this long without a leader. */
  readonly giveUpAfterMs: number;
  readonly tls: ClientTlsFiles | undefined;
  /** The join token calls carry (issue #20); none for a leader without tokens. */
  readonly token: string | undefined;
}

/** Who the worker is to the leader; the id is generated when none is given. */
export interface WorkerMemberConfig {
  readonly id: string;
  /** Shown in Members; informational. */
  readonly address: string;
  /** Tasks run at once. */
  readonly slots: number;
}

/**
 * Everything a `drover worker` process is configured with, checked once and deeply frozen:
 * the option table's sections (`commands`, `tasks`, `demo`, `log`), with `leader` and
 * `member` compiled (`tls` folds into `leader`). `commands.allow` empty turns the command
 * handler off; `tasks.stopGraceMs` is how long a handler may take to end after a stop.
 */
export interface WorkerConfig extends Omit<
  WorkerSections,
  'leader' | 'member' | 'tls' | 'commands'
> {
  readonly leader: WorkerLeaderConfig;
  readonly member: WorkerMemberConfig;
  readonly commands: WorkerCommandsConfig;
}

/** The `commands` section, with what it compiles to at start. */
export interface WorkerCommandsConfig extends Readonly<WorkerSections['commands']> {
  /** The allow-list resolved to absolute paths; undefined: commands are off. */
  readonly allowList: CommandAllowList | undefined;
  /** The whole environment commands get (PATH and the variables --command-env names). */
  readonly environment: Readonly<Record<string, string>>;
  /** The user commands run as (`--command-user`); undefined: the worker's. */
  readonly runAs: CommandUser | undefined;
}

/** Registers the worker's flags (each with an environment variable) on a command. */
export function addWorkerOptions(command: Command): Command {
  return addOptions(command, WORKER_OPTIONS);
}

/** Checks parsed options and returns the frozen config. */
export function workerConfigFrom(opts: Record<string, unknown>): WorkerConfig {
  const { leader, member, tls, ...sections } = readSections(WORKER_OPTIONS, opts);
  const addresses = leader.addresses.map((a) => formatHostPort(parseHostPort(a)));
  if (addresses.length === 0) {
    throw new InvalidArgumentError('--leader needs at least one address');
  }
  const { caFile, certFile, keyFile } = tls;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  if (sections.commands.killGraceMs >= sections.tasks.stopGraceMs) {
    // Else a command that ignores SIGTERM outlives the stop grace, and its task is reported
    // as a handler that did not stop instead of as stopped.
    throw new InvalidArgumentError('--command-kill-grace-ms must be less than --stop-grace-ms');
  }
  const { metrics, commands } = sections;
  // The join token is the worker's own credential: no command may be handed it.
  if (commands.env.includes('DROVER_TOKEN')) {
    throw new InvalidArgumentError(
      '--command-env DROVER_TOKEN would hand the join token to commands',
    );
  }
  if (commands.cwd !== undefined && !isDirectory(commands.cwd)) {
    throw new InvalidArgumentError(`--command-cwd ${commands.cwd} is not a directory`);
  }
  if (metrics.listen !== undefined) {
    const { host } = parseHostPort(metrics.listen);
    if (!isLoopback(host) && !metrics.allowRemote) {
      throw new InvalidArgumentError(
        `--metrics-listen ${metrics.listen} is not a loopback address: metrics are plain HTTP; add --metrics-allow-remote to serve them there`,
      );
    }
  }
  const tlsOn = tls.enabled || caFile !== undefined || certFile !== undefined;
  // Resolved now, with the PATH commands will get: a listed command that is not there
  // stops the start, and none is looked up again (see command-allow-list.ts).
  const environment = commandEnv(commands.env, process.env);
  const allowList =
    commands.allow.length === 0
      ? undefined
      : CommandAllowList.resolve(commands.allow, environment['PATH'] ?? '');
  return deepFreeze({
    ...sections,
    commands: {
      ...commands,
      allowList,
      environment,
      runAs:
        commands.user === undefined
          ? undefined
          : commandUser(commands.user, process.getuid?.() ?? -1),
    },
    leader: {
      addresses,
      giveUpAfterMs: leader.giveUpAfterMs,
      tls: tlsOn ? { caFile, certFile, keyFile } : undefined,
      token: tokenFrom(leader.token, leader.tokenFile, {
        token: '--token',
        file: '--token-file',
      }),
    },
    member: { ...member, id: member.id ?? defaultMemberId() },
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
