import type { Command } from 'commander';
import { HeartbeatStatus, MembersResponse, type Member } from '../../gen/cluster/v1/leader.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { formatAge, print, printTable, printListJson } from '../output.js';

/** `drover members`: every member with its state and load. */
export function registerMembers(program: Command): void {
  addClientOptions(program.command('members').description('list cluster members')).action(
    (options: ClientOptions) =>
      withClients(options, async (clients) => {
        const response = await call(clients, clients.leader.members.bind(clients.leader), {});
        if (options.json)
          return printListJson('members', MembersResponse.toJSON(response) as object);
        if (response.members.length === 0) return print('no members');
        printTable(
          ['ID', 'STATE', 'SLOTS FREE', 'RUNNING', 'LAST HEARTBEAT', 'KINDS', 'ADDRESS', 'WHY'],
          response.members.map((m) => [
            m.id,
            m.quarantineReason !== '' && m.status === 'alive' ? 'quarantined' : m.status,
            `${m.slotsFree}/${m.slotsTotal}`,
            String(m.runningTaskIds.length),
            m.lastHeartbeatAgeMs === undefined ? '-' : `${formatAge(m.lastHeartbeatAgeMs)} ago`,
            m.kinds.join(','),
            m.address || '-',
            // Why it gets no work, if it gets none: quarantine first, then its state.
            m.quarantineReason !== ''
              ? `${m.quarantineReason} (${quarantineEnd(m)})`
              : m.status === 'alive'
                ? ''
                : m.statusReason,
          ]),
        );
      }),
  );
}

/**
 * When a quarantine ends. One the worker asked for (it reports FAILED) is renewed by each
 * such heartbeat, so its end moves on until the worker reports healthy: no time to show.
 */
function quarantineEnd(member: Member): string {
  if (member.reportedStatus === HeartbeatStatus.HEARTBEAT_STATUS_FAILED) {
    return 'while it reports FAILED';
  }
  return `until ${member.quarantinedUntil?.toISOString() ?? '?'}`;
}
