import { spawn } from 'node:child_process';
import { DroverProcess } from '../../test/helpers/processes.js';

/** Starts `node <script> ...args` and waits for its ready line ("worker joined"). */
export async function startNodeWorker(
  name: string,
  script: string,
  args: string[],
  readyMsg = 'worker joined',
): Promise<DroverProcess> {
  const proc = new DroverProcess(
    name,
    spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  await proc.waitForLine((l) => l.msg === readyMsg, 30_000);
  return proc;
}

/** SIGTERM, then SIGKILL after 5 s; waits for all. */
export async function stopAll(processes: readonly DroverProcess[]): Promise<void> {
  for (const proc of processes) proc.kill('SIGTERM');
  const timer = setTimeout(() => processes.forEach((p) => p.kill('SIGKILL')), 5000);
  await Promise.all(processes.map((p) => p.exited));
  clearTimeout(timer);
}
