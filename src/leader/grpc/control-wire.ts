import type {
  ControlChange as WireControlChange,
  CronSchedule as WireCronSchedule,
  Limit as WireLimit,
  Pause as WirePause,
} from '../../gen/scheduler/v1/scheduler.js';
import type { KeyLimit, LimitTarget } from '../../scheduler/key-limits.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import type { ControlChange } from '../cluster-events.js';
import type { CronView } from '../cron/cron-schedules.js';
import type { LimitView } from '../limit-controls.js';
import type { TaskTemplate } from '../cron/cron-schedule.js';
import { taskDraft } from '../../client/task-draft.js';
import { newTaskFromWire, PRIORITY_TO_WIRE } from './task-wire.js';
import type { Pause, PauseTarget } from '../pauses.js';

// Conversions of operators' controls (pauses, limits) between the wire and the domain.

/** The kind or key a request names: exactly one of the two. */
export function targetFromWire(request: { kind: string; key: string }): PauseTarget & LimitTarget {
  if (request.kind !== '' && request.key !== '') {
    throw new InvalidArgumentError('set kind or key, not both');
  }
  if (request.kind === '' && request.key === '') {
    throw new InvalidArgumentError('set kind (a task kind) or key (a concurrency key)');
  }
  return request.kind !== '' ? { kind: request.kind } : { key: request.key };
}

/** The wire form of a pause. */
export function pauseToWire(pause: Pause): WirePause {
  return {
    kind: 'kind' in pause ? pause.kind : '',
    key: 'key' in pause ? pause.key : '',
    since: new Date(pause.sinceMs),
  };
}

/** A SetLimit request's limit: its target and what it holds the target to. */
export function limitFromWire(limit: WireLimit | undefined): {
  target: LimitTarget;
  limit: KeyLimit;
} {
  if (limit === undefined) throw new InvalidArgumentError('request has no limit');
  const target = targetFromWire(limit);
  const { rateCount, rateIntervalMs, rateBurst } = limit;
  if ((rateCount === undefined) !== (rateIntervalMs === undefined)) {
    throw new InvalidArgumentError('set rate_count and rate_interval_ms together');
  }
  if (rateBurst !== undefined && rateCount === undefined) {
    throw new InvalidArgumentError('rate_burst needs rate_count and rate_interval_ms');
  }
  const rate =
    rateCount === undefined || rateIntervalMs === undefined
      ? undefined
      : { count: rateCount, intervalMs: rateIntervalMs, burst: rateBurst ?? 1 };
  return { target, limit: { maxRunning: limit.maxRunning, rate } };
}

/** The wire form of a limit, with the key's usage if it is a key's. */
export function limitToWire(view: LimitView): WireLimit {
  const { target, limit, usage } = view;
  return {
    kind: 'kind' in target ? target.kind : '',
    key: 'key' in target ? target.key : '',
    maxRunning: limit.maxRunning,
    rateCount: limit.rate?.count,
    rateIntervalMs: limit.rate?.intervalMs,
    rateBurst: limit.rate?.burst,
    running: usage?.running ?? 0,
    queued: usage?.queued ?? 0,
  };
}

/** The wire form of a control change, for task watches. */
export function controlChangeToWire(change: ControlChange): WireControlChange {
  switch (change.type) {
    case 'pause':
      return {
        control: { $case: 'pause', value: pauseToWire(change.pause) },
        removed: change.removed,
      };
    case 'cron':
      return {
        control: { $case: 'cron', value: cronToWire(change.schedule) },
        removed: change.removed,
      };
    case 'limit':
      return {
        control: { $case: 'limit', value: limitToWire(change.limit) },
        removed: change.removed,
      };
  }
}

/** An AddCronSchedule request's schedule: name, expression, zone and task template. */
export function cronFromWire(schedule: WireCronSchedule | undefined): {
  name: string;
  expression: string;
  timeZone: string;
  task: TaskTemplate;
} {
  if (schedule === undefined) throw new InvalidArgumentError('request has no schedule');
  // Refused rather than ignored: a schedule added "paused" would otherwise fire.
  if (schedule.paused) {
    throw new InvalidArgumentError(
      "a schedule is added running; pause it after with PauseCronSchedule (paused is the leader's to set)",
    );
  }
  const given = schedule.task;
  if (
    given !== undefined &&
    (given.id !== '' ||
      given.runAt !== undefined ||
      given.delayMs !== undefined ||
      given.idempotencyKey !== '' ||
      given.idempotencyTtlMs !== undefined)
  ) {
    throw new InvalidArgumentError(
      "a cron schedule's task takes no id, run_at, delay_ms or idempotency key: each firing's id and time are the leader's",
    );
  }
  // Read as any new task is; what the leader sets at each firing (id, run time,
  // idempotency) is left out of the template.
  const task = newTaskFromWire(schedule.task ?? taskDraft({ payload: '' }));
  const { payload, priority, kind, targetMemberId, maxAttempts, retryBackoffMs } = task;
  const { timeoutMs, concurrencyKey } = task;
  return {
    name: schedule.name,
    expression: schedule.expression,
    timeZone: schedule.timeZone,
    task: {
      payload,
      priority,
      kind,
      targetMemberId,
      maxAttempts,
      retryBackoffMs,
      timeoutMs,
      concurrencyKey,
    },
  };
}

/** The wire form of a cron schedule. */
export function cronToWire(view: CronView): WireCronSchedule {
  const { task } = view;
  return {
    name: view.name,
    expression: view.expression,
    timeZone: view.timeZone,
    task: taskDraft({
      payload: task.payload,
      priority: PRIORITY_TO_WIRE[task.priority ?? 'medium'],
      kind: task.kind ?? '',
      targetMemberId: task.targetMemberId ?? '',
      maxAttempts: task.maxAttempts ?? 0,
      retryBackoffMs: task.retryBackoffMs,
      timeoutMs: task.timeoutMs,
      concurrencyKey: task.concurrencyKey ?? '',
    }),
    paused: view.paused,
    nextRun: view.nextRunAtMs === undefined ? undefined : new Date(view.nextRunAtMs),
    lastRun: view.lastRunAtMs === undefined ? undefined : new Date(view.lastRunAtMs),
    lastTaskId: view.lastTaskId ?? '',
    createdAt: new Date(view.createdAtMs),
  };
}
