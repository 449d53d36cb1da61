import { status, type ClientReadableStream } from '@grpc/grpc-js';
import {
  TaskEventKind,
  TaskStatus,
  type Task,
  type WatchTasksRequest,
  type WatchTasksResponse,
} from '../gen/scheduler/v1/scheduler.js';
import { abortReason } from '../shared/abort.js';
import { leaderHint } from '../shared/leader-hint.js';
import { brokeBecause, type SettingNames } from '../shared/connection-details.js';
import type { FollowedConnection } from './leader-rotation.js';

/** Statuses a task does not leave by itself: the end a waiter waits for. */
const ENDED = new Set([
  TaskStatus.TASK_STATUS_COMPLETED,
  TaskStatus.TASK_STATUS_ERROR,
  TaskStatus.TASK_STATUS_CANCELLED,
]);

/** Why waiting for a task's end failed: a gRPC status code and a message for a person. */
export class TaskWaitError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'TaskWaitError';
  }
}

/** Where a waiter watches: the leader it is on now, and how to move to another. */
export interface WaitLink {
  /** Opens WatchTasks on the current leader. */
  watch(request: WatchTasksRequest): ClientReadableStream<WatchTasksResponse>;
  /**
   * A watch opened on `from` failed with UNAVAILABLE: go to the leader `hint` names, else
   * the next; nothing if the link has moved from `from` already (another waiter moved it).
   */
  move(hint: string | undefined, from: string): void;
  /** The current leader, for messages. */
  readonly address: string;
}

/** A {@link WaitLink} over a followed connection: `watch` opens the watch on it. */
export function followingLink<C extends { close(): void }>(
  leaders: FollowedConnection<C>,
  watch: (connection: C, request: WatchTasksRequest) => ClientReadableStream<WatchTasksResponse>,
): WaitLink {
  return {
    watch: (request) => watch(leaders.current, request),
    move: (hint, from) => leaders.move(hint, from),
    get address() {
      return leaders.address;
    },
  };
}

/**
 * Channel options for a connection that waits (the producer's, the CLI's `--wait`): pings a
 * leader that has said nothing for 10 s, so a frozen one (whose kernel still holds the
 * connection open) breaks a waiting watch with UNAVAILABLE after 5 s more, and the wait
 * moves to the next leader. Within the leader's ping allowance (every 5 s).
 */
export const WAIT_KEEPALIVE = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
} as const;

/** How long {@link waitForTaskEnd} goes on without a leader serving its watch, by default. */
export const DEFAULT_WAIT_UNSERVED_MS = 30_000;

/** Options of {@link waitForTaskEnd}. */
export interface WaitOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Gives up (UNAVAILABLE) when no leader has served the watch for this long, in ms: long
   * enough for a standby to take over (a lease, 5 s by default, and its re-attach grace).
   */
  readonly unservedMs?: number | undefined;
  /**
   * Told when a watch that was served breaks (its leader went away), with why: the wait
   * goes on, on the next leader, and a person watching may want to know (the CLI says so).
   */
  readonly onLost?: ((why: string, address: string) => void) | undefined;
  /** How hints name the settings to check (default: the CLI's flags). */
  readonly settingNames?: SettingNames | undefined;
}

/**
 * Waits until the task `id` ends (completed, failed for good, cancelled) and resolves with
 * it as it ended. Watches that one task (WatchTasks with `id`: its snapshot, then its
 * changes), so it works however long the task takes and costs the leader one
 * subscription. A watch that breaks with UNAVAILABLE (the leader died, stepped down, or
 * is a standby) is opened again on the leader the refusal named, else the next one, so a
 * failover does not end the wait. Rejects with a {@link TaskWaitError}: NOT_FOUND for no
 * such task (or one deleted or pruned before the watch saw its end), UNAVAILABLE when no
 * leader served the watch for `unservedMs`, or the leader's refusal.
 */
export async function waitForTaskEnd(
  link: WaitLink,
  id: string,
  options: WaitOptions = {},
): Promise<Task> {
  const unservedMs = options.unservedMs ?? DEFAULT_WAIT_UNSERVED_MS;
  let servedAtMs = performance.now();
  // Bounded: every round either ends the wait or sleeps, and rounds without a served
  // watch end once unservedMs has passed since the last one that was served.
  for (let round = 0; ; round++) {
    options.signal?.throwIfAborted();
    const on = link.address;
    const outcome = await watchOnce(openWatch(link, id), id, options);
    if (outcome.kind === 'ended') return outcome.task;
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.synced) {
      servedAtMs = performance.now();
      options.onLost?.(outcome.message, on);
    }
    if (performance.now() - servedAtMs >= unservedMs) {
      throw new TaskWaitError(
        status.UNAVAILABLE,
        `no leader served the wait for task ${id} for ${unservedMs} ms; last at ${link.address}: ${outcome.message}`,
      );
    }
    link.move(outcome.hint, on);
    await pause(
      outcome.synced ? 0 : Math.min(1_000, 100 * 2 ** Math.min(round, 4)),
      options.signal,
    );
  }
}

type WatchOutcome =
  | { kind: 'ended'; task: Task }
  | { kind: 'failed'; error: Error }
  /** The watch broke in a way another leader may serve; `synced` if it had been served. */
  | { kind: 'broken'; synced: boolean; message: string; hint: string | undefined };

/** Reads one watch until the task ends, it cannot, or the watch breaks. */
function watchOnce(
  stream: ClientReadableStream<WatchTasksResponse>,
  id: string,
  { signal, settingNames }: WaitOptions,
): Promise<WatchOutcome> {
  return new Promise((resolve) => {
    let synced = false;
    let seen = false;
    let settled = false;
    // Once: the cancel below makes the stream end in a CANCELLED error as well.
    const finish = (outcome: WatchOutcome): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      stream.removeAllListeners('data');
      stream.cancel();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ kind: 'failed', error: abortReason(signal!) });
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (event: WatchTasksResponse) => {
      const task = event.task;
      if (event.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED) {
        synced = true;
        if (!seen) finish({ kind: 'failed', error: notFound(id, 'not found') });
      } else if (event.kind === TaskEventKind.TASK_EVENT_KIND_DELETED && task?.id === id) {
        finish({ kind: 'failed', error: notFound(id, 'was deleted before it ended') });
      } else if (task?.id === id) {
        seen = true;
        if (task.status !== undefined && ENDED.has(task.status)) finish({ kind: 'ended', task });
      }
    });
    stream.on('error', (err: Error & { code?: status; details?: string }) => {
      if (err.code === status.UNAVAILABLE) {
        const message = brokeBecause(err, settingNames);
        finish({ kind: 'broken', synced, message, hint: leaderHint(err) });
      } else {
        const code = err.code ?? status.UNKNOWN;
        finish({ kind: 'failed', error: new TaskWaitError(code, err.details ?? err.message) });
      }
    });
    stream.on('end', () =>
      finish({ kind: 'broken', synced, message: 'the leader ended the watch', hint: undefined }),
    );
  });
}

/** Opens the watch; a link that cannot (its client closed) is a TaskWaitError. */
function openWatch(link: WaitLink, id: string): ClientReadableStream<WatchTasksResponse> {
  try {
    return link.watch(watchRequest(id));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new TaskWaitError(status.UNAVAILABLE, `cannot watch task ${id}: ${message}`);
  }
}

function watchRequest(id: string): WatchTasksRequest {
  return {
    status: TaskStatus.TASK_STATUS_UNSPECIFIED,
    memberId: '',
    includeControls: false,
    kind: '',
    id,
    // The leader ends the watch as the task ends, freeing it before the next wait opens
    // (an older leader ignores this, and the cancel after the end frees it there).
    untilEnded: true,
  };
}

const notFound = (id: string, what: string): TaskWaitError =>
  new TaskWaitError(status.NOT_FOUND, `task ${id} ${what}`);

/** Waits `ms`, or rejects at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
