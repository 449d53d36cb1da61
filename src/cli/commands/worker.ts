import type { Command } from 'commander';
import { addWorkerOptions, workerConfigFrom } from '../../worker/config.js';
import { runWorker } from '../../worker/main.js';
import { exitSoonAfterStop, stopSignal } from '../signals.js';

/** `drover worker`: run a worker with the built-in handlers. */
export function registerWorker(program: Command): void {
  addWorkerOptions(
    program.command('worker').description('run a worker (demo handler; commands if allow-listed)'),
  ).action(async (options: Record<string, unknown>) => {
    await runWorker(workerConfigFrom(options), stopSignal());
    exitSoonAfterStop();
  });
}
