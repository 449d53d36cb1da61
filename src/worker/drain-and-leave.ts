import type { Logger } from 'pino';
import { abortReason } from '../shared/abort.js';
import type { LeaderLink } from './leader-link.js';
import type { TaskRunner } from './runner.js';

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
 * tasks finish (up to `drainTimeoutMs`), leaves, aborts what is left and waits for the
 * link to stop. Never rejects.
 */
export async function drainAndLeave(
  worker: StoppingWorker,
  drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS,
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
    log.warn({ reason: abortReason(drainTimeout).message }, 'drain timed out; handing tasks back');
  }
  // Leave before aborting what is left: the leader requeues it for another worker.
  await link.leave();
  runner.abandonAll('worker shutting down');
  session.abort(new Error('worker stopped'));
  await done.catch(() => {});
  log.info('worker stopped');
}
