import type { Command } from 'commander';
import { Task, taskPriorityToJSON } from '../../gen/scheduler/v1/scheduler.js';
import { addClientOptions, call, withClients, type ClientOptions } from '../client.js';
import { print, printJson } from '../output.js';
import { shortStatus } from './tasks.js';

/** `drover task ID`: one task in full. */
export function registerTask(program: Command): void {
  addClientOptions(
    program.command('task').description('show one task').argument('<id>', 'task id'),
  ).action((id: string, options: ClientOptions) =>
    withClients(options, async (clients) => {
      const { task } = await call(clients, clients.scheduler.getTask.bind(clients.scheduler), {
        id,
      });
      if (!task) throw new Error(`leader returned no task for ${id}`);
      if (options.json) return printJson(Task.toJSON(task));
      const rows: [string, string][] = [
        ['id', task.id],
        ['status', shortStatus(task.status)],
        ['waiting', task.waiting || '-'],
        [
          'priority',
          task.priority === undefined
            ? '-'
            : taskPriorityToJSON(task.priority).replace('TASK_PRIORITY_', '').toLowerCase(),
        ],
        ['kind', task.kind],
        ['attempt', String(task.attempt)],
        ['member', task.memberId || '-'],
        ['target', task.targetMemberId || '-'],
        ['created', task.createdAt?.toISOString() ?? '-'],
        ['run at', task.runAt?.toISOString() ?? '-'],
        [
          'idempotency key',
          task.idempotencyKey === ''
            ? '-'
            : `${task.idempotencyKey} (holds ${task.idempotencyTtlMs === undefined ? 'until the task finishes' : `${task.idempotencyTtlMs} ms from creation`})`,
        ],
        ['concurrency key', task.concurrencyKey || '-'],
        ['started', task.startedAt?.toISOString() ?? '-'],
        ['finished', task.finishedAt?.toISOString() ?? '-'],
        ['payload', task.payload],
        ['result', task.result ?? '-'],
        ['error', task.error ?? '-'],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [key, value] of rows) print(`${key.padEnd(width)}  ${value}`);
    }),
  );
}
