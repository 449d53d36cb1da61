import type { ControlChange } from './cluster-events.js';
import type { LeaderApi } from './leader-api.js';

/**
 * Every control as it is now, as the changes a watch with controls starts from: pauses
 * (kinds, then keys), limits (kinds, then keys), cron schedules (by name). Taken in the
 * same turn as the watch's listener is added, so no change falls between.
 */
export function controlSnapshot(
  api: Pick<LeaderApi, 'pauses' | 'limits' | 'crons'>,
): ControlChange[] {
  return [
    ...api.pauses.list().map((pause): ControlChange => ({ type: 'pause', pause, removed: false })),
    ...api.limits.list().map((limit): ControlChange => ({ type: 'limit', limit, removed: false })),
    ...api.crons
      .list()
      .map((schedule): ControlChange => ({ type: 'cron', schedule, removed: false })),
  ];
}
