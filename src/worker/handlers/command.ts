import { StringDecoder } from 'node:string_decoder';
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { PermanentTaskError, TaskError } from '../task-error.js';
import type { TaskHandler } from '../runner.js';

/** Settings of the command handler. */
export interface CommandHandlerOptions {
  /** Commands this worker may run, by exact name or path. Empty: the handler refuses all. */
  readonly allow: ReadonlySet<string>;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and marked truncated. */
  readonly outputLimitBytes: number;
  readonly memberId: string;
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
 * Runs allow-listed commands without a shell, captures stdout and stderr up to a cap, and
 * kills the process when the task's signal fires. A non-zero exit fails the task with the
 * output kept.
 */
export function commandHandler(options: CommandHandlerOptions): TaskHandler {
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
        signal,
        killSignal: 'SIGKILL',
      });
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
      child.on('error', (err) => {
        if (signal.aborted) reject(signal.reason);
        else reject(new TaskError(`command "${spec.command}" could not start: ${err.message}`));
      });
      child.on('close', (exitCode, exitSignal) => {
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
