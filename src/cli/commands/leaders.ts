import type { Command } from 'commander';
import { LeadersResponse } from '../../gen/cluster/v1/leader.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { formatAge, print, printTable, printListJson } from '../output.js';

/** `drover leaders`: every leader process, which one is active, its term and lease age. */
export function registerLeaders(program: Command): void {
  addClientOptions(
    program
      .command('leaders')
      .description('list the leaders of the group and which one is active (any leader answers)'),
  ).action((options: ClientOptions) =>
    withClients(options, async (clients) => {
      const response = await call(clients, clients.leader.leaders.bind(clients.leader), {});
      if (options.json) return printListJson('leaders', LeadersResponse.toJSON(response) as object);
      if (response.leaders.length === 0) return print('no leaders');
      printTable(
        ['ID', 'ROLE', 'TERM', 'LEASE RENEWED', 'ADDRESS', 'HTTP', 'LAST SEEN'],
        response.leaders.map((l) => [
          l.id,
          l.role,
          l.term === 0 ? '-' : String(l.term),
          l.leaseAgeMs === undefined ? '-' : `${formatAge(l.leaseAgeMs)} ago`,
          l.address || '-',
          l.httpAddress || '-',
          `${formatAge(l.seenAgoMs)} ago`,
        ]),
      );
    }),
  );
}
