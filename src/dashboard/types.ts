/** A task as the HTTP API returns it (the proto JSON mapping of scheduler.v1.Task). */
export interface Task {
  readonly id: string;
  readonly payload?: string;
  readonly priority?: string;
  readonly status?: string;
  readonly kind?: string;
  readonly attempt?: number;
  readonly attemptBase?: number;
  readonly maxAttempts?: number;
  readonly memberId?: string;
  readonly targetMemberId?: string;
  readonly result?: string;
  readonly error?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly retryAt?: string;
  readonly runAt?: string;
  readonly timeoutMs?: number;
  readonly idempotencyKey?: string;
  readonly concurrencyKey?: string;
  readonly waiting?: string;
  readonly traceContext?: Readonly<Record<string, string>>;
  readonly attempts?: readonly Attempt[];
}

/** One attempt of a task (scheduler.v1.TaskAttempt). */
export interface Attempt {
  readonly attempt: number;
  readonly memberId?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly outcome?: string;
  readonly error?: string;
}

/** A member as the HTTP API returns it (cluster.v1.Member). */
export interface Member {
  readonly id: string;
  readonly address?: string;
  readonly status?: string;
  readonly slotsTotal?: number;
  readonly slotsFree?: number;
  readonly slotsStopping?: number;
  readonly runningTaskIds?: readonly string[];
  readonly lastHeartbeatAgeMs?: number | string;
  readonly kinds?: readonly string[];
  readonly reportedStatus?: string;
  readonly statusReason?: string;
  readonly quarantinedUntil?: string;
  readonly quarantineReason?: string;
  readonly consecutiveFailures?: number;
}

/** GET /v1/stats. */
export interface Stats {
  readonly tasks: Readonly<Record<string, number>>;
  readonly queued: Readonly<Record<string, number>>;
  readonly members: Readonly<Record<string, number>>;
  readonly slots: { readonly total: number; readonly free: number };
}

/** The statuses, in the order a task moves through them. */
export const STATUSES = ['scheduled', 'pending', 'running', 'completed', 'error', 'cancelled'];

/** `TASK_STATUS_RUNNING` → `running`. */
export function shortStatus(status: string | undefined): string {
  return (status ?? 'TASK_STATUS_UNSPECIFIED').replace('TASK_STATUS_', '').toLowerCase();
}

/** `TASK_PRIORITY_HIGH` → `high`. */
export function shortPriority(priority: string | undefined): string {
  return (priority ?? 'TASK_PRIORITY_MEDIUM').replace('TASK_PRIORITY_', '').toLowerCase();
}

/** Whether a task is done for good (no attempt will follow unless re-run). */
export function isFinished(task: Task): boolean {
  return ['completed', 'error', 'cancelled'].includes(shortStatus(task.status));
}
