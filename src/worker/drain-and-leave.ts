import type { Logger } from 'pino';
import { abortReason } from '../shared/abort.js';
import type { LeaderLink } from './leader-link.js';
import { DEFAULT_STOP_GRACE_MS, type TaskRunner } from './runner.js';

/**
 * Beyond the stop grace, how long a stopped task may take to be settled and forgotten (its
 * grace timer and the settling are turns of the event loop, not instant).
 */
const STOP_MARGIN_MS = 500;

/** How long running tasks get to finish on stop, by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** The parts of a running worker that stopping it touches. */
export interface StoppingWorker {
  readonly link: Pick<LeaderLink, 'drain' | 'leave'>;
  readonly runner: Pick<TaskRunner, 'idle' | 'abandonAll' | 'handBackUnstarted'>;
  /** Aborting it ends the link's run. */
  readonly session: AbortController;
  /** The link's run. */
  readonly done: Promise<void>;
  readonly log: Logger;
}

/**
 * Stops a worker: takes no new work, hands back what it holds unstarted, lets running
 * tasks finish (up to `drainTimeoutMs`), stops what is left and waits for it to end (up to
 * `stopGraceMs`: a command's process group gets SIGKILL within it), then leaves, and waits
 * for the link to stop. Never rejects.
 */
export async function drainAndLeave(
  worker: StoppingWorker,
  drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS,
  stopGraceMs = DEFAULT_STOP_GRACE_MS,
): Promise<void> {
  const { link, runner, session, done, log } = worker;
  link.drain();
  // After the drain message (the stream keeps order): the leader, told first that this
  // worker takes no new work, queues these for the others rather than back here.
  const handedBack = runner.handBackUnstarted('its worker is draining');
  log.info({ handedBack }, 'worker draining');
  const drainTimeout = AbortSignal.timeout(drainTimeoutMs);
  try {
    await runner.idle(drainTimeout);
  } catch {
    log.warn({ reason: abortReason(drainTimeout).message }, 'drain timed out; stopping tasks');
    // Stopped before leaving, and waited for: on leave the leader queues these for other
    // workers, which must not start one while its run here (a command that takes its time
    // over SIGTERM) still goes on. Abandoned, they are not reported as failed attempts.
    runner.abandonAll('worker shutting down');
    await runner.idle(AbortSignal.timeout(stopGraceMs + STOP_MARGIN_MS)).catch(() => {
      log.warn({ stopGraceMs }, 'a task did not end within the stop grace; leaving anyway');
    });
  }
  await link.leave();
  session.abort(new Error('worker stopped'));
  await done.catch(() => {});
  log.info('worker stopped');
}
