import { Option, type Command } from 'commander';
import {
  GetTasksResponse,
  TaskStatus,
  taskPriorityToJSON,
  taskStatusToJSON,
  type Task,
} from '../../gen/scheduler/v1/scheduler.js';
import {
  addClientOptions,
  call,
  withClients,
  type ClientOptions,
  type LeaderClients,
} from '../client.js';
import { boundedIntOption, UINT32_MAX } from '../int-option.js';
import { statusAlias, STATUS_WORDS } from '../../shared/status-words.js';
import { formatAge, print, printTable, truncate, printListJson } from '../output.js';

/** `drover tasks`' options, as commander parses them. */
type TasksOptions = ClientOptions & {
  status?: string;
  member?: string;
  kind?: string;
  newestFirst?: boolean;
  limit: number;
  pageToken?: string;
};

/** `drover tasks`: tasks in the order they were scheduled, filtered and paged. */
export function registerTasks(program: Command): void {
  addClientOptions(
    program
      .command('tasks')
      .description('list tasks in the order they were scheduled (or newest first)')
      .addOption(
        new Option('--status <status>', 'only tasks in this status (failed: error)').choices([
          ...STATUS_WORDS,
          'failed',
          'canceled',
        ]),
      )
      .option('--member <id>', 'only tasks that run or ran on this member')
      .option('--kind <kind>', 'only tasks of this kind')
      .option('--newest-first', 'the most recently scheduled task first')
      .addOption(
        boundedIntOption(
          '--limit <n>',
          'at most this many tasks',
          { min: 1, max: UINT32_MAX },
          { env: 'DROVER_LIST_LIMIT', defaultValue: 100 },
        ),
      )
      .option('--page-token <token>', 'continue a previous listing'),
  ).action((options: TasksOptions) =>
    withClients(options, async (clients) => {
      const { tasks, pageToken } = await listTasks(clients, options);
      if (options.json) {
        return printListJson(
          'tasks',
          GetTasksResponse.toJSON({ tasks, nextPageToken: pageToken }) as object,
        );
      }
      if (tasks.length === 0) return print('no tasks');
      printTasks(tasks);
      if (pageToken === '') return;
      // Oldest first is GetTasks' order (go-work's); someone looking for what just ran is
      // told how to see it instead of paging through the backlog.
      const latest = options.newestFirst === true ? '' : '; --newest-first for the latest';
      print(`(more: --page-token ${pageToken}${latest})`);
    }),
  );
}

/** Up to `--limit` tasks, and the token to continue from ('' at the end). */
async function listTasks(
  clients: LeaderClients,
  options: TasksOptions,
): Promise<{ tasks: Task[]; pageToken: string }> {
  const tasks: Task[] = [];
  let pageToken = options.pageToken ?? '';
  // Pages of at most 1000 until the limit or the end; bounded by the limit.
  do {
    const response = await call(clients, clients.scheduler.getTasks.bind(clients.scheduler), {
      status: statusFromFlag(options.status),
      memberId: options.member ?? '',
      kind: options.kind ?? '',
      newestFirst: options.newestFirst === true,
      pageSize: Math.min(1000, options.limit - tasks.length),
      pageToken,
    });
    tasks.push(...response.tasks);
    pageToken = response.nextPageToken;
  } while (pageToken !== '' && tasks.length < options.limit);
  return { tasks, pageToken };
}

function printTasks(tasks: readonly Task[]): void {
  const now = Date.now();
  printTable(
    ['ID', 'STATUS', 'PRIORITY', 'KIND', 'ATTEMPT', 'MEMBER', 'AGE', 'PAYLOAD', 'RESULT / ERROR'],
    tasks.map((t) => [
      t.id,
      t.waiting ? `${shortStatus(t.status)} (${t.waiting})` : shortStatus(t.status, t.runAt),
      t.priority === undefined
        ? '-'
        : taskPriorityToJSON(t.priority).replace('TASK_PRIORITY_', '').toLowerCase(),
      t.kind,
      String(t.attempt),
      t.memberId || '-',
      t.createdAt ? formatAge(now - t.createdAt.getTime()) : '-',
      truncate(t.payload, 24),
      truncate(t.error ?? t.result, 40),
    ]),
  );
}

/** "running" from TASK_STATUS_RUNNING; a scheduled task also says when it is due. */
export function shortStatus(status: TaskStatus | undefined, runAt?: Date): string {
  if (status === undefined) return '-';
  const name = taskStatusToJSON(status).replace('TASK_STATUS_', '').toLowerCase();
  return status === TaskStatus.TASK_STATUS_SCHEDULED && runAt !== undefined
    ? `${name} ${runAt.toISOString()}`
    : name;
}

function statusFromFlag(flag: string | undefined): TaskStatus {
  if (flag === undefined) return TaskStatus.TASK_STATUS_UNSPECIFIED;
  return TaskStatus[`TASK_STATUS_${statusAlias(flag).toUpperCase()}` as keyof typeof TaskStatus];
}
