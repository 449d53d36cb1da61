import { watchWaiting } from '../watch-waiting.js';
import type { FastifyInstance } from 'fastify';
import { ControlChange, WatchTasksRequest } from '../../gen/scheduler/v1/scheduler.js';
import { controlChangeToWire } from '../grpc/control-wire.js';
import { controlSnapshot } from '../control-snapshot.js';
import type { TaskWatchFilter } from '../../scheduler/task-watch-filter.js';
import { taskIdFromWire, watchFilterFromWire } from '../grpc/task-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { memberJson, NO_QUERY, statusQueryParam, taskJson } from './schemas.js';
import { serveSse, type SseSource } from './sse.js';

const SSE_DESCRIPTION =
  'Server-Sent Events: `snapshot` (one per item), `synced`, then `changed` and `deleted`/`removed` ' +
  'as they happen (tasks with `controls=true`: also `control`, a pause, limit or cron schedule ' +
  'changed); `closed` when the leader shuts down. Data is JSON.';

/** Live watches over HTTP, as Server-Sent Events: the same watches as WatchTasks/WatchMembers. */
export function registerWatchRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  registerTaskWatch(app, coordinator);
  registerMemberWatch(app, coordinator);
}

function registerTaskWatch(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/tasks::watch',
    {
      // A HEAD would open the stream and never end; only GET may watch.
      exposeHeadRoute: false,
      schema: {
        summary: 'Watch tasks (WatchTasks) as Server-Sent Events',
        description: SSE_DESCRIPTION,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string' },
            memberId: { type: 'string' },
            kind: { type: 'string' },
            id: { type: 'string', description: 'only this task' },
            controls: { type: 'string', enum: ['true', 'false'] },
            snapshot: {
              type: 'string',
              enum: ['true', 'false'],
              description: 'false: no snapshot, `synced` at once, then changes only',
            },
          },
        },
      },
    },
    (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const filter = watchFilterFromWire(
        WatchTasksRequest.fromJSON({
          memberId: query['memberId'],
          kind: query['kind'],
          status: statusQueryParam(query['status']),
        }),
        query['id'] === undefined ? undefined : taskIdFromWire(query['id']),
      );
      const source = taskEvents(coordinator, filter, {
        controls: query['controls'] === 'true',
        snapshot: query['snapshot'] !== 'false',
      });
      serveSse(request, reply, source, coordinator.watchers);
    },
  );
}

/** The task watch as SSE events, only the tasks `filter` admits. */
function taskEvents(
  coordinator: LeaderApi,
  filter: TaskWatchFilter,
  { controls, snapshot: withSnapshot }: { controls: boolean; snapshot: boolean },
): SseSource {
  return {
    start: (send) => {
      const { snapshot, unsubscribe: stopTasks } = coordinator.watchTasks(
        (event) => {
          if (event.kind === 'deleted') {
            if (filter.admitDeleted(event.id)) send({ event: 'deleted', data: { id: event.id } });
          } else if (filter.admit(event.task)) {
            send({
              event: 'changed',
              data: taskJson(event.task, watchWaiting(coordinator, event.task)),
            });
          }
        },
        withSnapshot,
        filter.id,
      );
      // The same ControlChange as WatchTasks' include_controls, in its JSON mapping.
      const current = controls ? controlSnapshot(coordinator) : [];
      const stopControls = controls
        ? coordinator.events.onControl((change) =>
            send({ event: 'control', data: ControlChange.toJSON(controlChangeToWire(change)) }),
          )
        : () => {};
      const unsubscribe = () => {
        stopTasks();
        stopControls();
      };
      return {
        snapshot: (function* () {
          // The controls as they are, then the tasks: both before `synced`.
          for (const change of current) {
            yield { event: 'control', data: ControlChange.toJSON(controlChangeToWire(change)) };
          }
          for (const task of snapshot) {
            if (filter.admit(task)) {
              yield { event: 'snapshot', data: taskJson(task, watchWaiting(coordinator, task)) };
            }
          }
        })(),
        synced: { event: 'synced', data: {} },
        unsubscribe,
      };
    },
    onClose: (listener) => coordinator.events.onClose(listener),
  };
}

function registerMemberWatch(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/members::watch',
    {
      // A HEAD would open the stream and never end; only GET may watch.
      exposeHeadRoute: false,
      schema: {
        summary: 'Watch members (WatchMembers) as Server-Sent Events',
        querystring: NO_QUERY,
        description: SSE_DESCRIPTION,
      },
    },
    (request, reply) => {
      serveSse(request, reply, memberEvents(coordinator), coordinator.watchers);
    },
  );
}

/** The member watch as SSE events. */
function memberEvents(coordinator: LeaderApi): SseSource {
  return {
    start: (send) => {
      const { snapshot, unsubscribe } = coordinator.watchMembers((event) =>
        send(
          event.kind === 'changed'
            ? { event: 'changed', data: memberJson(event.view) }
            : { event: 'removed', data: { id: event.id } },
        ),
      );
      return {
        snapshot: (function* () {
          for (const view of snapshot) yield { event: 'snapshot', data: memberJson(view) };
        })(),
        synced: { event: 'synced', data: {} },
        unsubscribe,
      };
    },
    onClose: (listener) => coordinator.events.onClose(listener),
  };
}
