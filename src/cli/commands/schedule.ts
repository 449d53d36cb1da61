import { Option, type Command } from 'commander';
import { TaskPriority } from '../../gen/scheduler/v1/scheduler.js';
import { taskDraft } from '../../scheduler/task-wire.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';
import { parseIntAtLeast } from '../../shared/config.js';

/** `drover schedule PAYLOAD`: enqueue a task and print its id. */
export function registerSchedule(program: Command): void {
  addClientOptions(
    program
      .command('schedule')
      .description('schedule a task; prints its id')
      .argument('<payload>', 'task payload (for demo tasks: milliseconds of work)')
      .option('--id <id>', 'task id (default: the leader makes one)')
      .addOption(
        new Option('--priority <priority>', 'queue priority')
          .choices(['low', 'medium', 'high'])
          .default('medium'),
      )
      .option('--kind <kind>', 'handler to run (default: "default")')
      .option('--target <member>', 'run only on this member')
      .addOption(
        new Option(
          '--max-attempts <n>',
          "attempts before it fails (default: the leader's)",
        ).argParser((v: string) => parseIntAtLeast(v, 1)),
      )
      .addOption(
        new Option(
          '--retry-backoff-ms <ms>',
          "delay before the first retry, doubling per attempt (default: the leader's)",
        ).argParser((v: string) => parseIntAtLeast(v, 0)),
      )
      .addOption(
        new Option(
          '--attempt-timeout-ms <ms>',
          "stop and retry an attempt running longer; 0: no limit (default: the leader's)",
        ).argParser((v: string) => parseIntAtLeast(v, 0)),
      ),
  ).action(
    (
      payload: string,
      options: ClientOptions & {
        id?: string;
        priority: string;
        kind?: string;
        target?: string;
        maxAttempts?: number;
        retryBackoffMs?: number;
        attemptTimeoutMs?: number;
      },
    ) =>
      withClients(options, async (clients) => {
        const response = await call(
          clients,
          clients.scheduler.scheduleTask.bind(clients.scheduler),
          {
            task: taskDraft({
              id: options.id ?? '',
              payload,
              priority:
                TaskPriority[
                  `TASK_PRIORITY_${options.priority.toUpperCase()}` as keyof typeof TaskPriority
                ],
              kind: options.kind ?? '',
              targetMemberId: options.target ?? '',
              maxAttempts: options.maxAttempts ?? 0,
              retryBackoffMs: options.retryBackoffMs,
              timeoutMs: options.attemptTimeoutMs,
            }),
          },
        );
        if (options.json) printJson({ id: response.id });
        else print(response.id);
      }),
  );
}
