import type { Command } from 'commander';
import { Member } from '../../gen/cluster/v1/leader.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';

/**
 * `drover drain MEMBER`: no new work to a member; what it runs finishes, what it holds
 * unstarted goes back to the queue (the member hands those back once asked).
 */
export function registerDrain(program: Command): void {
  addClientOptions(
    program
      .command('drain')
      .description(
        'stop new work to a member and let its running tasks finish; tasks it holds unstarted go back to the queue',
      )
      .argument('<member>', 'member id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { member } = await call(clients, clients.leader.drain.bind(clients.leader), { id });
      if (options.json) return printJson(member ? Member.toJSON(member) : {});
      const running = member?.runningTaskIds.length ?? 0;
      print(
        `draining ${id}: no new work; of its ${running} task${running === 1 ? '' : 's'}, ` +
          'those it has begun will finish and the rest go back to the queue',
      );
    }),
  );
}

/** `drover undrain MEMBER`: an operator's drain ends; the member takes new work again. */
export function registerUndrain(program: Command): void {
  addClientOptions(
    program
      .command('undrain')
      .description("end an operator's drain: the member takes new work again")
      .argument('<member>', 'member id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { member } = await call(clients, clients.leader.undrain.bind(clients.leader), { id });
      if (options.json) return printJson(member ? Member.toJSON(member) : {});
      print(`${id} is ${member?.status ?? 'unknown'}: it takes new work again`);
    }),
  );
}
