import type { Command } from 'commander';
import { ListPausesResponse, Pause } from '../../gen/scheduler/v1/scheduler.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { formatAge, print, printJson, printTable, printListJson } from '../output.js';
import { nonEmpty } from '../task-options.js';

type TargetOptions = ClientOptions & { kind?: string; key?: string };

/** The kind or key a command names, as the request takes it: exactly one of them. */
function targetOf(options: TargetOptions): { kind: string; key: string; what: string } {
  if ((options.kind === undefined) === (options.key === undefined)) {
    throw new InvalidArgumentError('give --kind KIND or --key KEY (one of them)');
  }
  return options.kind !== undefined
    ? { kind: options.kind, key: '', what: `kind ${options.kind}` }
    : { kind: '', key: options.key!, what: `key ${options.key}` };
}

function addTargetOptions(command: Command, verb: string): Command {
  return command
    .option('--kind <kind>', `${verb} the tasks of this kind`, nonEmpty)
    .option('--key <key>', `${verb} the tasks with this concurrency key`, nonEmpty);
}

/**
 * `drover pause --kind K|--key K`, `drover resume --kind K|--key K` and `drover pauses`: no
 * new starts of a kind or key while paused (queued tasks keep their places, running ones
 * finish), and the list.
 */
export function registerPause(program: Command): void {
  addClientOptions(
    addTargetOptions(
      program
        .command('pause')
        .description('start no more tasks of a kind or key until resumed; running ones finish'),
      'pause',
    ),
  ).action((options: TargetOptions) => {
    // Checked before connecting: exactly one target is a usage matter (exit 2).
    const { kind, key, what } = targetOf(options);
    return withClients(options, async (clients) => {
      const { pause, changed } = await call(
        clients,
        clients.scheduler.pause.bind(clients.scheduler),
        { kind, key },
      );
      if (options.json) return printJson({ pause: pause ? Pause.toJSON(pause) : {}, changed });
      const since = pause?.since?.toISOString() ?? '-';
      print(
        changed
          ? `paused ${what}: queued tasks wait; running ones, and delayed ones already handed to a worker, go on`
          : `${what} was already paused (since ${since})`,
      );
    });
  });

  addClientOptions(
    addTargetOptions(
      program.command('resume').description("start a paused kind's or key's tasks again, in order"),
      'resume',
    ),
  ).action((options: TargetOptions) => {
    const { kind, key, what } = targetOf(options);
    return withClients(options, async (clients) => {
      const { changed } = await call(clients, clients.scheduler.resume.bind(clients.scheduler), {
        kind,
        key,
      });
      if (options.json) return printJson({ changed });
      print(changed ? `resumed ${what}` : `${what} was not paused`);
    });
  });

  registerPauses(program);
}

function registerPauses(program: Command): void {
  addClientOptions(
    program.command('pauses').description('list the paused kinds and concurrency keys'),
  ).action((options: ClientOptions) =>
    withClients(options, async (clients) => {
      const response = await call(
        clients,
        clients.scheduler.listPauses.bind(clients.scheduler),
        {},
      );
      if (options.json)
        return printListJson('pauses', ListPausesResponse.toJSON(response) as object);
      if (response.pauses.length === 0) return print('nothing is paused');
      // Ages from this machine's clock: a person's view, not a decision.
      const now = Date.now();
      printTable(
        ['PAUSED', 'SINCE', 'FOR'],
        response.pauses.map((p) => [
          p.kind !== '' ? `kind ${p.kind}` : `key ${p.key}`,
          p.since?.toISOString() ?? '-',
          p.since ? formatAge(now - p.since.getTime()) : '-',
        ]),
      );
    }),
  );
}
