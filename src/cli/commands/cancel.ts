import type { Command } from 'commander';
import { Task } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';

/** `drover cancel ID`: cancel a pending task, or stop a running one. */
export function registerCancel(program: Command): void {
  addClientOptions(
    program
      .command('cancel')
      .description('cancel a pending task or stop a running one')
      .argument('<id>', 'task id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { task, stopSent, alreadyCancelled } = await call(
        clients,
        clients.scheduler.cancelTask.bind(clients.scheduler),
        { id },
      );
      if (options.json) return printJson(task ? Task.toJSON(task) : {});
      // Still exit 0: a repeated cancel (a script retrying after a timeout) got what it asked.
      if (alreadyCancelled) {
        const at = task?.finishedAt ? ` at ${task.finishedAt.toISOString()}` : '';
        return print(`${id} was already cancelled${at}; nothing changed`);
      }
      print(stopSent ? `cancelled ${id} (stop sent to ${task?.memberId})` : `cancelled ${id}`);
    }),
  );
}
