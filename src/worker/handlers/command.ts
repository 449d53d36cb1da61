import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { PermanentTaskError, TaskError } from '../task-error.js';
import type { TaskHandler } from '../runner.js';
import { systemTimers, type Timers } from '../timers.js';
import { DEFAULT_KILL_GRACE_MS, ProcessGroup, type SendSignal } from './process-group.js';

/**
 * After a command exits, how long the worker keeps reading its stdout and stderr: long
 * enough to read what the pipes still hold, short enough that a background child holding
 * them open cannot keep the task running (issue #14).
 */
export const DEFAULT_STDIO_WAIT_MS = 500;

/** Settings of the command handler. */
export interface CommandHandlerOptions {
  /** Commands this worker may run, by exact name or path. Empty: the handler refuses all. */
  readonly allow: ReadonlySet<string>;
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
}

/** The payload of a `command` task. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string | undefined;
}

/** What a command task returns as its result (JSON). */
export interface CommandOutput {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

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
  const timers = options.timers ?? systemTimers;
  const kill: SendSignal = options.kill ?? ((pid, signal) => process.kill(pid, signal));
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const stdioWaitMs = options.stdioWaitMs ?? DEFAULT_STDIO_WAIT_MS;
  return ({ payload, signal, logger, write }) => {
    const spec = parseCommandPayload(payload);
    if (!options.allow.has(spec.command)) {
      throw new PermanentTaskError(
        `command "${spec.command}" is not allow-listed on worker ${options.memberId}` +
          ` (allowed: ${[...options.allow].join(', ') || 'none'})`,
      );
    }
    return new Promise<string>((resolve, reject) => {
      const child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own session and process group, so a stop reaches everything it forks.
        detached: true,
      });
      const group =
        child.pid === undefined
          ? undefined
          : new ProcessGroup(child.pid, { kill, timers, killGraceMs });
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
      const stdout = new CappedBuffer(options.outputLimitBytes);
      const stderr = new CappedBuffer(options.outputLimitBytes);
      // Output goes to the task's live output as it comes (decoded across chunk borders),
      // and, capped, into the result when the command ends.
      const liveOut = new StringDecoder('utf8');
      const liveErr = new StringDecoder('utf8');
      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        write(liveOut.write(chunk), 'stdout');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        write(liveErr.write(chunk), 'stderr');
      });
      const finish = (exitCode: number | null, exitSignal: NodeJS.Signals | null): void => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const output: CommandOutput = {
          exitCode,
          signal: exitSignal,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
        };
        const json = JSON.stringify(output);
        if (exitCode === 0) resolve(json);
        else
          reject(
            new TaskError(
              exitCode === null
                ? `command "${spec.command}" was killed by ${exitSignal}`
                : `command "${spec.command}" exited with code ${exitCode}`,
              json,
            ),
          );
      };
      child.on('error', (err) =>
        settle(() =>
          reject(
            signal.aborted
              ? signal.reason
              : new TaskError(`command "${spec.command}" could not start: ${err.message}`),
          ),
        ),
      );
      let closed = false;
      child.once('close', () => (closed = true));
      // 'exit', not 'close': 'close' waits for the pipes, which a background child can hold
      // open for as long as it lives.
      child.once('exit', (exitCode, exitSignal) => {
        group?.terminate(); // no orphans: what it left in its group goes with it
        const end = (): void => settle(() => finish(exitCode, exitSignal));
        if (closed) return end();
        const timer = timers.setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          end();
        }, stdioWaitMs);
        child.once('close', () => {
          timers.clearTimeout(timer);
          end();
        });
      });
    });
  };
}

/** Keeps the first `limitBytes` of a stream and notes whether more came. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;

  constructor(private readonly limitBytes: number) {}

  push(chunk: Buffer): void {
    const room = this.limitBytes - this.bytes;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.bytes += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
