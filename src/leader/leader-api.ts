import type { NotLeaderError } from '../shared/errors.js';
import type { Coordinator } from './coordinator.js';

/**
 * What the gRPC and HTTP adapters call: the Coordinator's public surface. A solo leader
 * serves its Coordinator; a leader in a highly available group serves a LeaderSwitch, which
 * forwards to the Coordinator while this leader is active and refuses (NotLeaderError,
 * naming the active leader) while it is a standby.
 */
export type LeaderApi = Pick<
  Coordinator,
  | 'events'
  | 'watchers'
  | 'ready'
  | 'join'
  | 'leave'
  | 'members'
  | 'drain'
  | 'undrain'
  | 'openStream'
  | 'heartbeat'
  | 'closeStream'
  | 'scheduleTask'
  | 'scheduleTasks'
  | 'cancelTask'
  | 'completeTask'
  | 'startCommand'
  | 'deleteTask'
  | 'getTask'
  | 'listTasks'
  | 'taskCounts'
  | 'waitingReason'
  | 'rerunTasks'
  | 'pauses'
  | 'limits'
  | 'crons'
  | 'watchTasks'
  | 'watchMembers'
  | 'appendOutput'
  | 'readOutput'
> & {
  /** Why this leader serves no work while it stands by (naming the active one), if so. */
  standbyRefusal?(): NotLeaderError | undefined;
};
