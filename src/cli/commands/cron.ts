import type { Command } from 'commander';
import { CronSchedule, ListCronSchedulesResponse } from '../../gen/scheduler/v1/scheduler.js';
import { taskDraft } from '../../client/task-draft.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson, printTable, printListJson } from '../output.js';
import { resolvePayload } from '../payload-source.js';
import {
  addTaskShapeOptions,
  nonEmpty,
  taskShapeFields,
  type TaskShapeOptions,
} from '../task-options.js';

type AddOptions = ClientOptions & TaskShapeOptions & { tz?: string; replace?: boolean };

/**
 * `drover cron add NAME 'EXPR' PAYLOAD --tz ZONE [task options]` (or `-`/--payload-file), `cron list` (or just
 * `cron`), `cron remove NAME`, `cron pause NAME`, `cron resume NAME`: named schedules that
 * each schedule one task per firing.
 */
export function registerCron(program: Command): void {
  const cron = program
    .command('cron')
    .description('named cron schedules: each firing schedules one task');
  // The default subcommand, so `drover cron --leader X` lists (see `limits`).
  addClientOptions(
    cron.command('list', { isDefault: true }).description('list the schedules (the default)'),
  )
    // A word that is not a subcommand lands here (the default): say so, not "too many
    // arguments for 'list'".
    .allowExcessArguments(true)
    .action((options: ClientOptions, command: Command) => {
      const [word] = command.args;
      if (word !== undefined) {
        throw new InvalidArgumentError(
          `unknown command "cron ${word}": use list, add, remove, pause or resume`,
        );
      }
      return list(options);
    });
  registerAdd(cron);
  for (const [verb, description] of [
    ['remove', 'remove a schedule (the tasks it made stay)'],
    ['pause', 'stop a schedule firing until resumed (missed firings are skipped)'],
    ['resume', 'let a paused schedule fire again, from its next time'],
  ] as const) {
    addClientOptions(cron.command(verb).description(description).argument('<name>')).action(
      (name: string, options: ClientOptions) => byName(verb, name, options),
    );
  }
}

function registerAdd(cron: Command): void {
  addClientOptions(
    addTaskShapeOptions(
      cron
        .command('add')
        .description(
          `add a schedule: e.g. drover cron add nightly "0 3 * * *" --tz Europe/Berlin '{"scope":"all"}'`,
        )
        .argument('<name>', 'the schedule name: 1-64 letters, digits, ".", "_", ":" or "-"')
        .argument('<expression>', 'cron expression: 5 fields, or 6 with seconds first')
        .argument(
          '[payload]',
          'the payload of each task (required: here, - to read stdin, or --payload-file FILE)',
        ),
    )
      .option('--tz <zone>', 'IANA time zone the expression is read in (default: UTC)', nonEmpty)
      .option('--replace', 'replace a schedule of the same name instead of refusing'),
  ).action(
    async (
      name: string,
      expression: string,
      payloadArg: string | undefined,
      options: AddOptions,
    ) => {
      const payload = await resolvePayload(payloadArg, options.payloadFile);
      await withClients(options, async (clients) => {
        const { schedule } = await call(
          clients,
          clients.scheduler.addCronSchedule.bind(clients.scheduler),
          {
            schedule: CronSchedule.fromPartial({
              name,
              expression,
              timeZone: options.tz ?? '',
              task: taskDraft({ ...taskShapeFields(options), payload }),
            }),
            replace: options.replace === true,
          },
        );
        if (options.json) return printJson(schedule ? CronSchedule.toJSON(schedule) : {});
        print(`cron schedule ${name}: next firing ${schedule?.nextRun?.toISOString() ?? '-'}`);
      });
    },
  );
}

async function byName(
  verb: 'remove' | 'pause' | 'resume',
  name: string,
  options: ClientOptions,
): Promise<void> {
  await withClients(options, async (clients) => {
    const s = clients.scheduler;
    if (verb === 'remove') {
      const { changed } = await call(clients, s.removeCronSchedule.bind(s), { name });
      if (options.json) return printJson({ changed });
      return print(changed ? `removed cron schedule ${name}` : `no cron schedule ${name}`);
    }
    const rpc = verb === 'pause' ? s.pauseCronSchedule.bind(s) : s.resumeCronSchedule.bind(s);
    const { schedule, changed } = await call(clients, rpc, { name });
    if (options.json) {
      return printJson({ schedule: schedule ? CronSchedule.toJSON(schedule) : {}, changed });
    }
    const done = verb === 'pause' ? 'paused' : 'resumed';
    print(changed ? `${done} cron schedule ${name}` : `cron schedule ${name} was ${done} already`);
  });
}

function list(options: ClientOptions): Promise<void> {
  return withClients(options, async (clients) => {
    const s = clients.scheduler;
    const response = await call(clients, s.listCronSchedules.bind(s), {});
    if (options.json)
      return printListJson('schedules', ListCronSchedulesResponse.toJSON(response) as object);
    if (response.schedules.length === 0) return print('no cron schedules');
    printTable(
      ['NAME', 'EXPRESSION', 'ZONE', 'KIND', 'STATE', 'NEXT', 'LAST TASK'],
      response.schedules.map((c) => [
        c.name,
        c.expression,
        c.timeZone,
        c.task?.kind || 'default',
        c.paused ? 'paused' : 'active',
        c.nextRun?.toISOString() ?? '-',
        c.lastTaskId || '-',
      ]),
    );
  });
}
