import type { FastifyInstance } from 'fastify';
import type { LeaderApi } from '../leader-api.js';
import { serveSse, type SseSource } from './sse.js';
import { NO_QUERY } from './schemas.js';

/**
 * The fewest milliseconds between two `stats` events of a watch: counts change with every
 * task, thousands of times a second under load; a person reads a few updates a second.
 */
const STATS_EVERY_MS = 500;

/** The cluster at a glance: tasks by status, queued ones by priority, members and slots. */
export interface ClusterStats {
  readonly tasks: Record<string, number>;
  readonly queued: Record<string, number>;
  readonly members: Record<string, number>;
  readonly slots: { readonly total: number; readonly free: number };
}

const STATS_SCHEMA = {
  type: 'object',
  properties: {
    tasks: { type: 'object', additionalProperties: { type: 'integer' } },
    queued: { type: 'object', additionalProperties: { type: 'integer' } },
    members: { type: 'object', additionalProperties: { type: 'integer' } },
    slots: {
      type: 'object',
      properties: { total: { type: 'integer' }, free: { type: 'integer' } },
    },
  },
} as const;

/** GET /v1/stats, and its live form as Server-Sent Events (the dashboard's header). */
export function registerStatsRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/stats',
    {
      schema: {
        summary: 'Counts: tasks by status, queued tasks by priority, members by state, slots',
        querystring: NO_QUERY,
        response: { 200: STATS_SCHEMA },
      },
    },
    () => clusterStats(coordinator),
  );
  app.get(
    '/v1/stats::watch',
    {
      // A HEAD would open the stream and never end; only GET may watch.
      exposeHeadRoute: false,
      schema: {
        summary: 'Watch the counts of /v1/stats as Server-Sent Events',
        querystring: NO_QUERY,
        description: `A \`stats\` event at once, then one after changes, at most every ${STATS_EVERY_MS} ms.`,
      },
    },
    (request, reply) => serveSse(request, reply, statsEvents(coordinator), coordinator.watchers),
  );
}

/** The counts now. */
export function clusterStats(coordinator: LeaderApi): ClusterStats {
  const { byStatus, queuedByPriority } = coordinator.taskCounts();
  const members: Record<string, number> = {};
  let total = 0;
  let free = 0;
  for (const view of coordinator.members()) {
    const state = view.member.state;
    members[state] = (members[state] ?? 0) + 1;
    if (state === 'alive' || state === 'suspect') {
      total += view.member.slots;
      free += view.slotsFree;
    }
  }
  return { tasks: byStatus, queued: queuedByPriority, members, slots: { total, free } };
}

/** The stats as SSE: now, then after any task or member change, spaced out. */
function statsEvents(coordinator: LeaderApi): SseSource {
  return {
    start: (send) => {
      let timer: NodeJS.Timeout | undefined;
      const changed = (): void => {
        timer ??= setTimeout(() => {
          timer = undefined;
          send({ event: 'stats', data: clusterStats(coordinator) });
        }, STATS_EVERY_MS);
      };
      const stopTasks = coordinator.events.onTask(changed);
      const stopMembers = coordinator.events.onMember(changed);
      return {
        snapshot: [{ event: 'stats', data: clusterStats(coordinator) }],
        synced: { event: 'synced', data: {} },
        unsubscribe: () => {
          stopTasks();
          stopMembers();
          clearTimeout(timer);
        },
      };
    },
    onClose: (listener) => coordinator.events.onClose(listener),
  };
}
