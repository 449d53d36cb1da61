import type { Command } from 'commander';
import { Task } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';
import { formatTaskView } from '../task-view.js';

/** `drover task ID`: one task in full. */
export function registerTask(program: Command): void {
  addClientOptions(
    program.command('task').description('show one task').argument('<id>', 'task id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { task } = await call(clients, clients.scheduler.getTask.bind(clients.scheduler), {
        id,
      });
      if (!task) throw new Error(`leader returned no task for ${id}`);
      if (options.json) return printJson(Task.toJSON(task));
      print(formatTaskView(task));
    }),
  );
}
