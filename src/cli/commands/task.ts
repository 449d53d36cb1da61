import type { Command } from 'commander';
import { Task } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';
import { formatTaskView } from '../task-view.js';
import { exitForEnd, waitForEnd, waitOptions, type WaitFlags } from '../task-wait.js';

/** `drover task ID [--wait]`: one task in full (once it has ended, with --wait). */
export function registerTask(program: Command): void {
  const command = program
    .command('task')
    .description('show one task (--wait: once it has ended)')
    .argument('<id>', 'task id');
  for (const option of waitOptions()) command.addOption(option);
  addClientOptions(command).action(async (id: string, options: ClientOptions & WaitFlags) => {
    let task: Task | undefined;
    if (options.wait) {
      task = await waitForEnd(options, id);
      if (task === undefined) return;
    } else {
      await withClients(options, async (clients) => {
        const answer = await call(clients, clients.scheduler.getTask.bind(clients.scheduler), {
          id,
        });
        if (!answer.task) throw new Error(`leader returned no task for ${id}`);
        task = answer.task;
      });
      if (task === undefined) return;
    }
    if (options.json) printJson(Task.toJSON(task));
    else print(formatTaskView(task));
    if (options.wait) exitForEnd(task);
  });
}
