import type { Command } from 'commander';
import { Member } from '../../gen/cluster/v1/leader.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';

/** `drover drain MEMBER`: no new work to a member; what it runs finishes. */
export function registerDrain(program: Command): void {
  addClientOptions(
    program
      .command('drain')
      .description('stop new work to a member and let its running tasks finish')
      .argument('<member>', 'member id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { member } = await call(clients, clients.leader.drain.bind(clients.leader), { id });
      if (options.json) return printJson(member ? Member.toJSON(member) : {});
      const running = member?.runningTaskIds.length ?? 0;
      print(
        `draining ${id}: no new work; ${running} running task${running === 1 ? '' : 's'} will finish`,
      );
    }),
  );
}
