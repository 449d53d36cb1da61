import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, isAbsolute, normalize } from 'node:path';
import { PermanentTaskError, TaskError } from '../task-error.js';
import type { TaskContext, TaskHandler } from '../runner.js';
import { systemTimers, type Timers } from '../timers.js';
import type { CommandAllowList } from './command-allow-list.js';
import type { CommandUser } from './command-user.js';
import { captureOutput, commandResult } from './command-output.js';
import type { GroupRegistry } from './group-reaper.js';
import { DEFAULT_KILL_GRACE_MS, ProcessGroup, type SendSignal } from './process-group.js';

export type { CommandOutput } from './command-output.js';

/**
 * After a command exits, how long the worker keeps reading its stdout and stderr: long
 * enough to read what the pipes still hold, short enough that a background child holding
 * them open cannot keep the task running (issue #14).
 */
export const DEFAULT_STDIO_WAIT_MS = 500;

/** Settings of the command handler. */
export interface CommandHandlerOptions {
  /** Commands this worker may run, resolved at start (see command-allow-list.ts). */
  readonly allow: CommandAllowList;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and marked truncated. */
  readonly outputLimitBytes: number;
  readonly memberId: string;
  /** After SIGTERM to the command's process group, how long until SIGKILL (default 2 s). */
  readonly killGraceMs?: number;
  /** After the command exits, how long its pipes are read (default 500 ms). */
  readonly stdioWaitMs?: number;
  readonly timers?: Timers;
  /** Signals a process group; `process.kill` unless a test stands in. */
  readonly kill?: SendSignal;
  /**
   * The environment commands get (issue #20): only these variables, never the worker's own
   * (its join token, say). Default: PATH set to the system directories, nothing else.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The working directory commands run in; a payload's `cwd` is refused unless allowed. */
  readonly cwd?: string;
  /** Whether a payload may name its own working directory (`cwd`). */
  readonly allowCwd?: boolean;
  /** The user commands run as (`--command-user`); the worker's own when undefined. */
  readonly user?: CommandUser | undefined;
  /**
   * Where each command's process group is listed while it runs, so that it is stopped if
   * the worker dies first (a {@link GroupReaper}); none in tests that do not kill workers.
   */
  readonly reaper?: GroupRegistry | undefined;
}

/** The PATH commands get by default: the system's, not whatever the worker was started with. */
export const COMMAND_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The environment for commands: PATH (the worker's only if named) and the variables of
 * `names` that the worker has. Everything else of the worker's stays out.
 */
export function commandEnv(
  names: readonly string[],
  from: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = { PATH: COMMAND_PATH };
  for (const name of names) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The payload of a `command` task. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string | undefined;
}

/** The fields a JSON command payload may have. */
const PAYLOAD_FIELDS = ['command', 'args', 'cwd'];

/**
 * Parses a command payload: JSON `{"command": "ls", "args": ["-l"], "cwd": "/tmp"}`, or a
 * plain line split on whitespace ("ls -l"). No shell is involved either way.
 */
export function parseCommandPayload(payload: string): CommandSpec {
  const trimmed = payload.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new PermanentTaskError('command payload is not valid JSON');
    }
    const spec = parsed as Partial<Record<keyof CommandSpec, unknown>>;
    // Refused by name, as the HTTP API refuses unknown fields: an "env" or "shell" that is
    // silently ignored would run something other than what its sender meant.
    const unknown = Object.keys(spec).filter((key) => !PAYLOAD_FIELDS.includes(key));
    if (unknown.length > 0) {
      throw new PermanentTaskError(
        `command payload has unknown field "${unknown[0]!.slice(0, 40)}" (fields: ${PAYLOAD_FIELDS.join(', ')})`,
      );
    }
    if (typeof spec.command !== 'string' || spec.command === '') {
      throw new PermanentTaskError('command payload needs a "command" string');
    }
    const args = spec.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
      throw new PermanentTaskError('command payload "args" must be an array of strings');
    }
    if (spec.cwd !== undefined && typeof spec.cwd !== 'string') {
      throw new PermanentTaskError('command payload "cwd" must be a string');
    }
    return { command: spec.command, args, cwd: spec.cwd };
  }
  const [command, ...args] = trimmed.split(/\s+/);
  if (!command) throw new PermanentTaskError('command payload is empty');
  return { command, args };
}

/**
 * Runs allow-listed commands without a shell, each in its own process group, and captures
 * stdout and stderr up to a cap. The task ends when the command exits; whatever it left in
 * its group then gets SIGTERM, and SIGKILL after the grace. When the task's signal fires the
 * whole group is stopped the same way. A non-zero exit fails the task with the output kept.
 */
export function commandHandler(options: CommandHandlerOptions): TaskHandler {
  const settings: CommandSettings = {
    outputLimitBytes: options.outputLimitBytes,
    timers: options.timers ?? systemTimers,
    kill: options.kill ?? ((pid, signal) => process.kill(pid, signal)),
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    stdioWaitMs: options.stdioWaitMs ?? DEFAULT_STDIO_WAIT_MS,
    env: options.env ?? { PATH: COMMAND_PATH },
    cwd: options.cwd,
    user: options.user,
    reaper: options.reaper,
  };
  return (task) => {
    const spec = parseCommandPayload(task.payload);
    const file = options.allow.pathOf(spec.command);
    if (file === undefined) {
      throw new PermanentTaskError(
        `command "${spec.command}" is not allow-listed on worker ${options.memberId}` +
          ` (allowed: ${options.allow.describe()})`,
      );
    }
    if (spec.cwd !== undefined && options.allowCwd && !isAbsolute(spec.cwd)) {
      throw new PermanentTaskError(`command payload cwd "${spec.cwd}" must be an absolute path`);
    }
    if (spec.cwd !== undefined && options.allowCwd && normalize(spec.cwd) !== spec.cwd) {
      throw new PermanentTaskError(
        `command payload cwd "${spec.cwd}" must be given as it is (${normalize(spec.cwd)}), without . or .. or //`,
      );
    }
    if (spec.cwd !== undefined && !options.allowCwd) {
      throw new PermanentTaskError(
        `command payload names a working directory, which worker ${options.memberId} does not allow (--command-allow-cwd)`,
      );
    }
    return runCommand(spec, file, task, settings);
  };
}

/** The command handler's options, defaults filled in. */
interface CommandSettings {
  readonly outputLimitBytes: number;
  readonly timers: Timers;
  readonly kill: SendSignal;
  readonly killGraceMs: number;
  readonly stdioWaitMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly user: CommandUser | undefined;
  readonly reaper: GroupRegistry | undefined;
}

/**
 * Runs one allow-listed command, by the absolute path `file` it resolved to at start, to
 * its end; resolves with its result, or rejects.
 */
function runCommand(
  spec: CommandSpec,
  file: string,
  task: Pick<TaskContext, 'signal' | 'logger' | 'write'>,
  settings: CommandSettings,
): Promise<string> {
  const { signal, logger } = task;
  const { kill, timers, killGraceMs } = settings;
  return new Promise<string>((resolve, reject) => {
    const child = spawn(file, [...spec.args], {
      // The program sees the name it was asked by (busybox-style tools read argv[0]).
      argv0: spec.command,
      cwd: spec.cwd ?? settings.cwd,
      // A clean environment: the worker's own (its join token, its secrets) stays out.
      env: { ...settings.env },
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own session and process group, so a stop reaches everything it forks.
      detached: true,
      ...(settings.user === undefined ? {} : { uid: settings.user.uid, gid: settings.user.gid }),
    });
    const pid = child.pid;
    const { reaper } = settings;
    if (pid !== undefined) reaper?.add(pid);
    const group =
      pid === undefined
        ? undefined
        : new ProcessGroup(pid, { kill, timers, killGraceMs, stopped: () => reaper?.remove(pid) });
    const onAbort = (): void => group?.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const settle = (end: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      end();
    };
    logger.info({ command: basename(spec.command), pid: child.pid }, 'command started');
    const captured = captureOutput(child, settings.outputLimitBytes, task.write);
    child.on('error', (err) =>
      settle(() =>
        reject(
          signal.aborted
            ? signal.reason
            : new TaskError(couldNotStart(spec, spec.cwd ?? settings.cwd, err)),
        ),
      ),
    );
    // No orphans: what it left in its group goes with it.
    const exited = (): void => group?.terminate();
    afterExit(child, settings, exited, (exitCode, exitSignal) =>
      settle(() => {
        if (signal.aborted) return reject(signal.reason);
        try {
          resolve(commandResult(spec.command, exitCode, exitSignal, captured));
        } catch (err) {
          reject(err);
        }
      }),
    );
  });
}

/**
 * Why a command could not start. spawn says ENOENT for a missing working directory too,
 * which would blame the command; the directory is named when it is the one missing.
 */
function couldNotStart(spec: CommandSpec, cwd: string | undefined, err: Error): string {
  if (cwd !== undefined && !existsSync(cwd)) {
    return `command "${spec.command}" could not start: its working directory ${cwd} does not exist`;
  }
  if (cwd !== undefined && (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
    return `command "${spec.command}" could not start: its working directory ${cwd} is not a directory`;
  }
  return `command "${spec.command}" could not start: ${err.message}`;
}

/** The parts of a spawned command that {@link afterExit} watches. */
export type ExitingChild = Pick<ChildProcess, 'once'> & {
  readonly stdout: { destroy(): void };
  readonly stderr: { destroy(): void };
};

/**
 * Calls `exited` when the command exits, then `ended` once its pipes are read: when they
 * close, or after `stdioWaitMs`, when they are destroyed. `ended` may be called twice (the
 * pipes can close after being destroyed); the caller settles once.
 */
export function afterExit(
  child: ExitingChild,
  settings: { readonly timers: Timers; readonly stdioWaitMs: number },
  exited: () => void,
  ended: (exitCode: number | null, exitSignal: NodeJS.Signals | null) => void,
): void {
  let closed = false;
  child.once('close', () => (closed = true));
  // 'exit', not 'close': 'close' waits for the pipes, which a background child can hold
  // open for as long as it lives.
  child.once('exit', (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
    exited();
    const end = (): void => ended(exitCode, exitSignal);
    if (closed) return end();
    const timer = settings.timers.setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
      end();
    }, settings.stdioWaitMs);
    child.once('close', () => {
      settings.timers.clearTimeout(timer);
      end();
    });
  });
}
