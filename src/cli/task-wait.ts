import { status } from '@grpc/grpc-js';
import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { TaskStatus, type Task } from '../gen/scheduler/v1/scheduler.js';
import { FollowedConnection } from '../client/leader-rotation.js';
import {
  DEFAULT_WAIT_UNSERVED_MS,
  followingLink,
  TaskWaitError,
  WAIT_KEEPALIVE,
  waitForTaskEnd,
  type WaitLink,
} from '../client/task-waiter.js';
import { access, connectTo, EXIT, leaderAddresses, type ClientOptions } from './client.js';
import { MAX_TIMER_MS } from './int-option.js';
import { printNotice } from './output.js';
import { stopSignal } from './signals.js';
import { parseDurationArg } from './time-options.js';

/** `--wait` and `--wait-timeout`, as commander parses them. */
export interface WaitFlags {
  readonly wait?: boolean;
  /** --wait-timeout, in ms. */
  readonly waitTimeout?: number;
}

/** The two options, on `schedule` and `task`. */
export function waitOptions(): Option[] {
  return [
    new Option(
      '--wait',
      'wait until the task ends; exit 4 if it failed or was cancelled (follows a failover)',
    ),
    new Option('--wait-timeout <duration>', 'with --wait: give up after this long, exit 5')
      .argParser(parseWaitTimeout)
      .implies({ wait: true }),
  ];
}

/** A duration with units, at most what one timer can wait (~24.8 days). */
function parseWaitTimeout(value: string): number {
  const ms = parseDurationArg(value);
  if (ms < 1 || ms > MAX_TIMER_MS) {
    throw new CommanderArgumentError(`"${value}" is out of range: 1ms to 24d`);
  }
  return Math.round(ms);
}

/**
 * Waits for the task `id` to end, on the leaders `--leader` lists (WatchTasks on that
 * task, moving to the active leader across a failover, as the SDK's `result()` does).
 * Resolves with the task as it ended, or undefined when the wait did not end it: the
 * message is printed and the exit code set (3 no leader served it, 5 --wait-timeout, 130
 * stopped by a signal, 1 the leader refused: no such task).
 */
export async function waitForEnd(
  options: ClientOptions & WaitFlags,
  id: string,
): Promise<Task | undefined> {
  const stop = stopSignal();
  const timeout =
    options.waitTimeout === undefined ? undefined : AbortSignal.timeout(options.waitTimeout);
  const signal = timeout === undefined ? stop : AbortSignal.any([stop, timeout]);
  const link = watchLink(options);
  try {
    // Said once per outage: the wait goes on, and would otherwise look hung.
    const onLost = (why: string, address: string): void =>
      printNotice(
        `lost the leader at ${address} (${why}); waiting for task ${id} on it or another, up to ${DEFAULT_WAIT_UNSERVED_MS / 1000} s without one`,
      );
    return await waitForTaskEnd(link, id, { signal, onLost });
  } catch (err) {
    if (timeout?.aborted === true) {
      printNotice(`task ${id} has not ended within --wait-timeout; it goes on`);
      process.exitCode = EXIT.waitTimedOut;
    } else if (stop.aborted) {
      printNotice(`stopped waiting for task ${id}; it goes on`);
      process.exitCode = 130;
    } else if (err instanceof TaskWaitError) {
      printNotice(err.message);
      process.exitCode = err.code === status.UNAVAILABLE ? EXIT.unreachable : EXIT.refused;
    } else throw err;
    return undefined;
  } finally {
    link.close();
  }
}

/** Sets the exit code a waited-for task's end calls for, and says why when it failed. */
export function exitForEnd(task: Task): void {
  if (task.status === TaskStatus.TASK_STATUS_COMPLETED) return;
  printNotice(
    task.status === TaskStatus.TASK_STATUS_CANCELLED
      ? `task ${task.id} was cancelled`
      : `task ${task.id} failed on attempt ${task.attempt}: ${task.error ?? 'no error given'}`,
  );
  process.exitCode = EXIT.taskFailed;
}

/** The waiter's view of the listed leaders: a connection it moves on UNAVAILABLE. */
function watchLink(options: ClientOptions): WaitLink & { close(): void } {
  const reach = access(options);
  // Keepalive: a frozen leader's watch breaks (and moves) instead of hanging the wait.
  const leaders = new FollowedConnection(leaderAddresses(options.leader), (address) =>
    connectTo(address, reach, options.timeoutMs, WAIT_KEEPALIVE),
  );
  // Added to the link itself: a spread would read its `address` getter once, for good.
  const link = followingLink(leaders, (clients, request) => clients.scheduler.watchTasks(request));
  return Object.assign(link, { close: () => leaders.close() });
}
