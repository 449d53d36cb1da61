import type { Command } from 'commander';
import { Task } from '../../gen/scheduler/v1/scheduler.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';

type RetryOptions = ClientOptions & { kind?: string };

/** `drover retry ID` or `drover retry --kind K`: re-run failed tasks (dead letters). */
export function registerRetry(program: Command): void {
  addClientOptions(
    program
      .command('retry')
      .description('re-run a failed task, or every failed task of a kind, as new attempts')
      .argument('[id]', 'the failed task to re-run')
      .option('--kind <kind>', 're-run the failed tasks of this kind instead (up to 10,000)'),
  ).action((id: string | undefined, options: RetryOptions) => {
    // Checked before connecting: exactly one target is a usage matter (exit 2).
    if ((id === undefined) === (options.kind === undefined)) {
      throw new InvalidArgumentError('give a task id or --kind, one of them');
    }
    return withClients(options, async (clients) => {
      if (id !== undefined) {
        const { task } = await call(clients, clients.scheduler.retryTask.bind(clients.scheduler), {
          id,
        });
        if (options.json) return printJson(task ? Task.toJSON(task) : {});
        return print(`re-running ${id} from attempt ${(task?.attemptBase ?? 0) + 1}`);
      }
      const { ids } = await call(
        clients,
        clients.scheduler.retryFailedTasks.bind(clients.scheduler),
        { kind: options.kind! },
      );
      if (options.json) return printJson({ ids });
      print(
        ids.length === 0
          ? `no failed tasks of kind ${options.kind}`
          : `re-running ${ids.length} failed task${ids.length === 1 ? '' : 's'} of kind ${options.kind}`,
      );
    });
  });
}
