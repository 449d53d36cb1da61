import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { Member, MemberEventKind, WatchMembersResponse } from '../../gen/cluster/v1/leader.js';
import {
  TaskEventKind,
  TaskStatus,
  WatchTasksResponse,
  type Task,
} from '../../gen/scheduler/v1/scheduler.js';
import {
  addClientOptions,
  withClients,
  type ClientOptions,
  type LeaderClients,
} from '../client.js';
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
  ).action((options: ClientOptions) => withClients(options, (clients) => watch(clients, options)));
}

/** Follows both streams until either ends or the user stops it. */
async function watch(clients: LeaderClients, options: ClientOptions): Promise<void> {
  const stop = stopSignal();
  const view = new LiveView(options.json || !process.stdout.isTTY);
  const memberStream = clients.leader.watchMembers({});
  const taskStream = clients.scheduler.watchTasks({
    status: 0,
    memberId: '',
    includeControls: false,
    kind: '',
    id: '',
    untilEnded: false,
  });
  memberStream.on('data', (event: WatchMembersResponse) => view.onMemberEvent(event));
  taskStream.on('data', (event: WatchTasksResponse) => view.onTaskEvent(event));
  try {
    await Promise.race([
      ended(memberStream),
      ended(taskStream),
      new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve())),
    ]);
  } finally {
    view.stop();
    memberStream.cancel();
    taskStream.cancel();
  }
}

/**
 * What `drover watch` shows: each event as a JSON line (`lines`), or members and tasks as
 * the streams report them, redrawn as a table at most every REDRAW_MS once both are synced.
 */
class LiveView {
  private readonly members = new Map<string, Member>();
  private readonly tasks = new Map<string, Task>();
  private synced = 0;
  private redrawTimer: NodeJS.Timeout | undefined;

  constructor(private readonly lines: boolean) {}

  onMemberEvent(event: WatchMembersResponse): void {
    if (this.lines) {
      print(
        JSON.stringify({
          stream: 'members',
          ...(WatchMembersResponse.toJSON(event) as object),
        }),
      );
      return;
    }
    if (event.kind === MemberEventKind.MEMBER_EVENT_KIND_SYNCED) this.synced++;
    else if (event.kind === MemberEventKind.MEMBER_EVENT_KIND_REMOVED)
      this.members.delete(event.member!.id);
    else if (event.member) this.members.set(event.member.id, event.member);
    this.redraw();
  }

  onTaskEvent(event: WatchTasksResponse): void {
    if (this.lines) {
      print(JSON.stringify({ stream: 'tasks', ...(WatchTasksResponse.toJSON(event) as object) }));
      return;
    }
    if (event.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED) this.synced++;
    else if (event.kind === TaskEventKind.TASK_EVENT_KIND_DELETED)
      this.tasks.delete(event.task!.id);
    else if (event.task) this.tasks.set(event.task.id, event.task);
    forgetOldFinished(this.tasks);
    this.redraw();
  }

  stop(): void {
    clearTimeout(this.redrawTimer);
  }

  private redraw(): void {
    if (this.lines || this.synced < 2 || this.redrawTimer) return;
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = undefined;
      process.stdout.write(`\x1b[2J\x1b[H${render(this.members, this.tasks)}\n`);
    }, REDRAW_MS);
  }
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
      t.status === TaskStatus.TASK_STATUS_SCHEDULED ||
      t.status === TaskStatus.TASK_STATUS_PENDING ||
      t.status === TaskStatus.TASK_STATUS_RUNNING,
  );
  const finished = [...tasks.values()]
    .filter((t) => t.finishedAt !== undefined)
    .sort((a, b) => b.finishedAt!.getTime() - a.finishedAt!.getTime())
    .slice(0, RECENT_FINISHED);
  const taskRows = [...open, ...finished].map((t) => [
    t.id,
    shortStatus(t.status, t.runAt),
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
