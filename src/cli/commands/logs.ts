import type { Command } from 'commander';
import type { GetTaskOutputResponse } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, withClients, type ClientOptions } from '../client.js';
import { stopSignal } from '../signals.js';

/** `drover logs ID [--follow]`: what a task wrote (command output, SDK log lines). */
export function registerLogs(program: Command): void {
  addClientOptions(
    program
      .command('logs')
      .description("print a task's output; --follow streams it until the task finishes")
      .argument('<id>', 'task id')
      .option('-f, --follow', 'keep printing output as it comes, until the task finishes', false),
  ).action((id: string, options: ClientOptions & { follow: boolean }) =>
    withClients(options, async (clients) => {
      const stop = stopSignal();
      const stream = clients.scheduler.getTaskOutput({ id, offset: 0, follow: options.follow });
      stop.addEventListener('abort', () => stream.cancel());
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: GetTaskOutputResponse) => {
          if (options.json) process.stdout.write(`${JSON.stringify(chunk)}\n`);
          else process.stdout.write(chunk.data);
        });
        stream.on('end', () => resolve());
        stream.on('error', (err: Error & { code?: number }) =>
          // Our own ctrl-c is not an error.
          stop.aborted ? resolve() : reject(err),
        );
      });
    }),
  );
}
