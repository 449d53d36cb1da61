import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { taskDraft } from '../../client/task-draft.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import {
  addTaskShapeOptions,
  nonEmpty,
  taskShapeFields,
  type TaskShapeOptions,
} from '../task-options.js';
import { print, printJson, printNotice } from '../output.js';
import { resolvePayload } from '../payload-source.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { delayOptions, parseDelayMs } from '../time-options.js';
import { exitForEnd, waitForEnd, waitOptions, type WaitFlags } from '../task-wait.js';
import { Task } from '../../gen/scheduler/v1/scheduler.js';

/** `drover schedule`'s options, as commander parses them. */
type ScheduleOptions = ClientOptions &
  TaskShapeOptions &
  WaitFlags & {
    id?: string;
    /** --in, in ms. */
    in?: number;
    at?: Date;
    idempotencyKey?: string;
    /** --idempotency-ttl, in ms. */
    idempotencyTtl?: number;
  };

/** `drover schedule PAYLOAD | - | --payload-file FILE`: enqueue a task and print its id. */
export function registerSchedule(program: Command): void {
  addClientOptions(
    addScheduleOptions(
      program
        .command('schedule')
        .description('schedule a task; prints its id (--wait: then its result)')
        .argument(
          '[payload]',
          'task payload (for demo tasks: milliseconds of work); - reads it from stdin',
        ),
    ),
  ).action(runSchedule);
}

function addScheduleOptions(command: Command): Command {
  for (const option of [...delayOptions(), ...waitOptions()]) command.addOption(option);
  return addTaskShapeOptions(command)
    .addOption(new Option('--id <id>', 'task id (default: a random UUID)').argParser(nonEmpty))
    .addOption(
      new Option(
        '--idempotency-key <key>',
        'while this key holds, scheduling it again returns the first task (nothing new)',
      ).argParser(nonEmpty),
    )
    .addOption(
      new Option(
        '--idempotency-ttl <duration>',
        'how long the key holds: 30s, 10m, 24h (default: until the task finishes)',
      ).argParser(parseDelayMs),
    );
}

async function runSchedule(
  payloadArgument: string | undefined,
  options: ScheduleOptions,
): Promise<void> {
  // Read (and checked) before connecting: a bad source is a usage error, exit 2.
  const payload = await resolvePayload(payloadArgument, options.payloadFile);
  if (options.idempotencyTtl !== undefined && options.idempotencyKey === undefined) {
    throw new InvalidArgumentError('--idempotency-ttl needs --idempotency-key');
  }
  // The id is made here, not by the leader, so a call the CLI repeats on another leader
  // (several --leader addresses, an answer lost with the connection) cannot schedule the
  // task twice: a repeat that finds the id already taken means the first call landed.
  const id = options.id ?? randomUUID();
  let scheduled: { id: string; existing: boolean } | undefined;
  await withClients(options, async (clients) => {
    const schedule = call(clients, clients.scheduler.scheduleTask.bind(clients.scheduler), {
      task: taskDraft({
        ...taskShapeFields(options),
        id,
        payload,
        delayMs: options.in,
        runAt: options.at,
        idempotencyKey: options.idempotencyKey ?? '',
        idempotencyTtlMs: options.idempotencyTtl,
      }),
    });
    const response = await schedule.catch((err: unknown) => {
      if (options.id === undefined && (err as { code?: unknown }).code === status.ALREADY_EXISTS) {
        return { id, existing: false };
      }
      throw err;
    });
    scheduled = { id: response.id, existing: response.existing };
    if (options.json && !options.wait) printJson(scheduled);
    else if (!options.json) print(response.id);
    // Said on stderr, so a script reading the id from stdout is not disturbed.
    // Not when the task is the one this command made (its own repeat after a lost answer).
    if (response.existing && !options.json && response.id !== id) {
      printNotice(
        `task ${response.id} already holds idempotency key "${options.idempotencyKey}": nothing new was scheduled`,
      );
    }
  });
  if (options.wait && scheduled !== undefined) await awaitScheduled(options, scheduled);
}

/**
 * `--wait`: the task's result on stdout once it completes (under the id printed at once),
 * or why it did not end well on stderr with exit 4. With --json, one object at the end:
 * the id, `existing`, and the task as it ended.
 */
async function awaitScheduled(
  options: ScheduleOptions,
  scheduled: { id: string; existing: boolean },
): Promise<void> {
  const task = await waitForEnd(options, scheduled.id);
  if (task === undefined) return;
  if (options.json) printJson({ ...scheduled, task: Task.toJSON(task) });
  else if (task.result !== undefined) print(task.result);
  exitForEnd(task);
}
