import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DROVER_BIN } from './processes.js';

const run = promisify(execFile);

/** Runs the real `drover` CLI; resolves with its output and exit code. */
export async function drover(
  ...args: string[]
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [DROVER_BIN, ...args], {
      timeout: 15_000,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** A new token of `role` made by the real `drover token create` into `file`; returns it. */
export async function createToken(file: string, role: string): Promise<string> {
  const made = await drover('token', 'create', '--role', role, '--tokens-file', file);
  if (made.code !== 0) throw new Error(`drover token create failed: ${made.stderr}`);
  return made.stdout.trim();
}
