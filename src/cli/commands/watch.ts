import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { Member, MemberEventKind, WatchMembersResponse } from '../../gen/cluster/v1/leader.js';
import {
  TaskEventKind,
  TaskStatus,
  WatchTasksResponse,
  type Task,
} from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, withClients, type ClientOptions } from '../client.js';
import { formatAge, formatTable, print, truncate } from '../output.js';
import { stopSignal } from '../signals.js';
import { shortStatus } from './tasks.js';

/** Finished tasks the live table keeps showing, newest first. */
const RECENT_FINISHED = 10;
/** Fewest milliseconds between two redraws of the live table. */
const REDRAW_MS = 250;

/**
 * `drover watch`: a live table of members and tasks, from the WatchMembers and WatchTasks
 * streams (a snapshot, then every change). With --json (or when stdout is not a terminal)
 * it prints each event as one JSON line instead, for scripts.
 */
export function registerWatch(program: Command): void {
  addClientOptions(
    program
      .command('watch')
      .description('live table of members and tasks (--json: one event per line)'),
  ).action((options: ClientOptions) =>
    withClients(options, async (clients) => {
      const stop = stopSignal();
      const lines = options.json || !process.stdout.isTTY;
      const members = new Map<string, Member>();
      const tasks = new Map<string, Task>();
      let synced = 0;
      let redrawTimer: NodeJS.Timeout | undefined;
      const redraw = (): void => {
        if (lines || synced < 2 || redrawTimer) return;
        redrawTimer = setTimeout(() => {
          redrawTimer = undefined;
          process.stdout.write(`\x1b[2J\x1b[H${render(members, tasks)}\n`);
        }, REDRAW_MS);
      };

      const memberStream = clients.leader.watchMembers({});
      const taskStream = clients.scheduler.watchTasks({ status: 0, memberId: '' });
      memberStream.on('data', (event: WatchMembersResponse) => {
        if (lines)
          return print(
            JSON.stringify({
              stream: 'members',
              ...(WatchMembersResponse.toJSON(event) as object),
            }),
          );
        if (event.kind === MemberEventKind.MEMBER_EVENT_KIND_SYNCED) synced++;
        else if (event.kind === MemberEventKind.MEMBER_EVENT_KIND_REMOVED)
          members.delete(event.member!.id);
        else if (event.member) members.set(event.member.id, event.member);
        redraw();
      });
      taskStream.on('data', (event: WatchTasksResponse) => {
        if (lines)
          return print(
            JSON.stringify({ stream: 'tasks', ...(WatchTasksResponse.toJSON(event) as object) }),
          );
        if (event.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED) synced++;
        else if (event.kind === TaskEventKind.TASK_EVENT_KIND_DELETED) tasks.delete(event.task!.id);
        else if (event.task) tasks.set(event.task.id, event.task);
        forgetOldFinished(tasks);
        redraw();
      });
      try {
        await Promise.race([
          ended(memberStream),
          ended(taskStream),
          new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve())),
        ]);
      } finally {
        clearTimeout(redrawTimer);
        memberStream.cancel();
        taskStream.cancel();
      }
    }),
  );
}

/** Resolves when the leader ends the stream, rejects with its error. */
function ended(stream: ClientReadableStream<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', (err) => reject(err));
  });
}

/** Keeps open tasks and only the most recently finished ones, so memory stays bounded. */
function forgetOldFinished(tasks: Map<string, Task>): void {
  const finished = [...tasks.values()].filter((t) => t.finishedAt !== undefined);
  if (finished.length <= RECENT_FINISHED * 2) return;
  finished.sort((a, b) => b.finishedAt!.getTime() - a.finishedAt!.getTime());
  for (const task of finished.slice(RECENT_FINISHED)) tasks.delete(task.id);
}

function render(members: Map<string, Member>, tasks: Map<string, Task>): string {
  const now = Date.now();
  const memberRows = [...members.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((m) => [
      m.id,
      m.quarantineReason !== '' && m.status === 'alive' ? 'quarantined' : m.status,
      `${m.slotsFree}/${m.slotsTotal}`,
      String(m.runningTaskIds.length),
      m.lastHeartbeatAgeMs === undefined ? '-' : `${formatAge(m.lastHeartbeatAgeMs)} ago`,
    ]);
  const open = [...tasks.values()].filter(
    (t) =>
      t.status === TaskStatus.TASK_STATUS_PENDING || t.status === TaskStatus.TASK_STATUS_RUNNING,
  );
  const finished = [...tasks.values()]
    .filter((t) => t.finishedAt !== undefined)
    .sort((a, b) => b.finishedAt!.getTime() - a.finishedAt!.getTime())
    .slice(0, RECENT_FINISHED);
  const taskRows = [...open, ...finished].map((t) => [
    t.id,
    shortStatus(t.status),
    String(t.attempt),
    t.memberId || '-',
    t.createdAt ? formatAge(now - t.createdAt.getTime()) : '-',
    truncate(t.error ?? t.result, 40),
  ]);
  return [
    `drover watch: ${members.size} members, ${open.length} open tasks (ctrl-c to stop)`,
    '',
    formatTable(['MEMBER', 'STATE', 'SLOTS FREE', 'RUNNING', 'LAST HEARTBEAT'], memberRows),
    '',
    formatTable(['TASK', 'STATUS', 'ATTEMPT', 'MEMBER', 'AGE', 'RESULT / ERROR'], taskRows),
  ].join('\n');
}
