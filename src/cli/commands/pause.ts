import type { Command } from 'commander';
import { ListPausesResponse, Pause } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { formatAge, print, printJson, printTable } from '../output.js';

type KindOptions = ClientOptions & { kind: string };

/**
 * `drover pause --kind K`, `drover resume --kind K` and `drover pauses`: no new starts of a
 * kind while paused (queued tasks keep their places, running ones finish), and the list.
 */
export function registerPause(program: Command): void {
  addClientOptions(
    program
      .command('pause')
      .description('start no more tasks of a kind until it is resumed; running ones finish')
      .requiredOption('--kind <kind>', 'the kind to pause'),
  ).action((options: KindOptions) =>
    withClients(options, async (clients) => {
      const { pause, changed } = await call(
        clients,
        clients.scheduler.pause.bind(clients.scheduler),
        { kind: options.kind },
      );
      if (options.json) return printJson({ pause: pause ? Pause.toJSON(pause) : {}, changed });
      const since = pause?.since?.toISOString() ?? '-';
      print(
        changed
          ? `paused kind ${options.kind}: queued tasks wait, running ones finish`
          : `kind ${options.kind} was already paused (since ${since})`,
      );
    }),
  );

  addClientOptions(
    program
      .command('resume')
      .description("start a paused kind's tasks again, in their order")
      .requiredOption('--kind <kind>', 'the kind to resume'),
  ).action((options: KindOptions) =>
    withClients(options, async (clients) => {
      const { changed } = await call(clients, clients.scheduler.resume.bind(clients.scheduler), {
        kind: options.kind,
      });
      if (options.json) return printJson({ changed });
      print(changed ? `resumed kind ${options.kind}` : `kind ${options.kind} was not paused`);
    }),
  );

  addClientOptions(program.command('pauses').description('list the paused kinds')).action(
    (options: ClientOptions) =>
      withClients(options, async (clients) => {
        const response = await call(
          clients,
          clients.scheduler.listPauses.bind(clients.scheduler),
          {},
        );
        if (options.json) return printJson(ListPausesResponse.toJSON(response));
        if (response.pauses.length === 0) return print('no paused kinds');
        const now = Date.now();
        printTable(
          ['KIND', 'PAUSED SINCE', 'FOR'],
          response.pauses.map((p) => [
            p.kind,
            p.since?.toISOString() ?? '-',
            p.since ? formatAge(now - p.since.getTime()) : '-',
          ]),
        );
      }),
  );
}
