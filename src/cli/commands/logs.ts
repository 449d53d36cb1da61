import type { Command } from 'commander';
import type { GetTaskOutputResponse } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, withClients, type ClientOptions } from '../client.js';
import { stopSignal } from '../signals.js';
import { attemptMarker } from '../../shared/attempt-marker.js';

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
      // At a terminal, a line marks where each attempt's output begins (after the first);
      // into a pipe or a file the output goes as the task wrote it.
      const marked = process.stdout.isTTY === true;
      let attempt: number | undefined;
      let last = '';
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: GetTaskOutputResponse) => {
          if (options.json) return process.stdout.write(`${JSON.stringify(chunk)}\n`);
          const marker = marked ? attemptMarker(last, attempt, chunk.attempt) : '';
          attempt = chunk.attempt;
          if (chunk.data !== '') last = chunk.data;
          process.stdout.write(marker + chunk.data);
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
