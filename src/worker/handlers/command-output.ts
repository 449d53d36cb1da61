import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { TaskError } from '../task-error.js';

/** What a command task returns as its result (JSON). */
export interface CommandOutput {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

/** Keeps the first `limitBytes` of a stream and notes whether more came. */
export class CappedBuffer {
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

/** A command's stdout and stderr, as kept for its result. */
export interface CapturedOutput {
  readonly stdout: CappedBuffer;
  readonly stderr: CappedBuffer;
}

/**
 * Reads a command's stdout and stderr into buffers of `limitBytes` each. Output goes to the
 * task's live output as it comes (decoded across chunk borders), and, capped, into the
 * result when the command ends.
 */
export function captureOutput(
  pipes: { readonly stdout: Readable; readonly stderr: Readable },
  limitBytes: number,
  write: (text: string, stream: 'stdout' | 'stderr') => void,
): CapturedOutput {
  const stdout = new CappedBuffer(limitBytes);
  const stderr = new CappedBuffer(limitBytes);
  const liveOut = new StringDecoder('utf8');
  const liveErr = new StringDecoder('utf8');
  pipes.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    write(liveOut.write(chunk), 'stdout');
  });
  pipes.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    write(liveErr.write(chunk), 'stderr');
  });
  return { stdout, stderr };
}

/**
 * The result of command `command` that exited with `exitCode` (null: killed by
 * `exitSignal`): the output as JSON. A non-zero exit throws a TaskError that keeps it.
 */
export function commandResult(
  command: string,
  exitCode: number | null,
  exitSignal: NodeJS.Signals | null,
  captured: CapturedOutput,
): string {
  const output: CommandOutput = {
    exitCode,
    signal: exitSignal,
    stdout: captured.stdout.text(),
    stderr: captured.stderr.text(),
    truncated: captured.stdout.truncated || captured.stderr.truncated,
  };
  const json = JSON.stringify(output);
  if (exitCode === 0) return json;
  throw new TaskError(
    exitCode === null
      ? `command "${command}" was killed by ${exitSignal}`
      : `command "${command}" exited with code ${exitCode}`,
    json,
  );
}
