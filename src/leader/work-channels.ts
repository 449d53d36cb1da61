import type { Logger } from 'pino';
import type { MemberId } from '../shared/ids.js';
import type { RecallOrder, StartOrder, StopOrder } from '../scheduler/scheduler.js';
import type { WorkChannel } from './views.js';

/** Stops of one heartbeat logged each on its own line; the rest are counted in one. */
export const STOPS_LOGGED_ONE_BY_ONE = 20;

/**
 * The open heartbeat stream of each member, by which it is sent work. One per member: a
 * newer stream replaces the older one, and only the stream that is current may remove it.
 */
export class WorkChannels {
  private readonly channels = new Map<MemberId, { streamId: number; channel: WorkChannel }>();

  /**
   * `traceStart`, when the leader traces: the trace context an attempt's worker joins (see
   * TaskTracer.assigned), asked for as the start goes out.
   */
  constructor(
    private readonly log: Logger,
    private readonly traceStart?: (
      start: StartOrder,
    ) => Readonly<Record<string, string>> | undefined,
  ) {}

  /** Makes `channel` the member's; an older stream is closed. */
  open(id: MemberId, streamId: number, channel: WorkChannel): void {
    const previous = this.channels.get(id);
    if (previous) previous.channel.close('replaced by a newer heartbeat stream');
    this.channels.set(id, { streamId, channel });
  }

  /** Forgets the member's channel if `streamId` is still the current one (it ended). */
  forget(id: MemberId, streamId: number): void {
    if (this.channels.get(id)?.streamId === streamId) this.channels.delete(id);
  }

  /** Closes and forgets the member's channel, if it has one. */
  close(id: MemberId, reason: string): void {
    const current = this.channels.get(id);
    if (!current) return;
    this.channels.delete(id);
    current.channel.close(reason);
  }

  /** Closes every channel (shutdown). */
  closeAll(reason: string): void {
    for (const { channel } of this.channels.values()) channel.close(reason);
    this.channels.clear();
  }

  /**
   * Tells workers to start what was assigned to them (`nowMs`: when, for the waits of timed
   * starts); returns the members told.
   */
  sendStarts(starts: readonly StartOrder[], nowMs = 0): MemberId[] {
    const told: MemberId[] = [];
    // Per task, so at debug (see logOutcome in task-commands.ts), and guarded.
    const logs = this.log.isLevelEnabled('debug');
    for (const start of starts) {
      const target = this.channels.get(start.memberId);
      // No channel: the member died after assignment, and its death requeued the task.
      if (!target) continue;
      if (logs) {
        this.log.debug(
          { taskId: start.taskId, attempt: start.attempt, memberId: start.memberId },
          'task assigned',
        );
      }
      // A timed start travels as a wait from now, not a time: the worker's clock may differ
      // from ours, and the wait only grows by the time the order takes to arrive.
      const startInMs =
        start.startAtMs === undefined ? 0 : Math.max(0, Math.ceil(start.startAtMs - nowMs));
      target.channel.start(start, this.traceStart?.(start), startInMs);
      told.push(start.memberId);
    }
    return told;
  }

  /** Tells a worker to stop an attempt (nothing if it has no stream now). */
  sendStop(stop: StopOrder): void {
    this.log.info(
      { taskId: stop.taskId, attempt: stop.attempt, memberId: stop.memberId, reason: stop.reason },
      'task stop sent',
    );
    this.channels.get(stop.memberId)?.channel.stop(stop);
  }

  /**
   * Sends the stops one heartbeat's reconcile found. The first STOPS_LOGGED_ONE_BY_ONE are
   * logged one by one, the rest in one line: a worker listing thousands of attempts it was
   * never given (a bug, or a hostile member) gets every stop but must not turn each
   * heartbeat into thousands of log lines (10,000 of them held the leader ~190 ms).
   */
  sendStops(stops: readonly StopOrder[]): void {
    for (const [i, stop] of stops.entries()) {
      if (i < STOPS_LOGGED_ONE_BY_ONE) this.sendStop(stop);
      else this.channels.get(stop.memberId)?.channel.stop(stop);
    }
    const more = stops.length - STOPS_LOGGED_ONE_BY_ONE;
    if (more > 0) {
      this.log.warn(
        { memberId: stops[0]!.memberId, count: more, lastTaskId: stops.at(-1)!.taskId },
        'more task stops sent than logged one by one',
      );
    }
  }

  /** Asks a worker to hand back a task it holds unstarted (nothing if it has no stream). */
  sendRecall(recall: RecallOrder): void {
    this.log.info(
      {
        taskId: recall.taskId,
        attempt: recall.attempt,
        memberId: recall.memberId,
        reason: recall.reason,
      },
      'task recall sent',
    );
    this.channels.get(recall.memberId)?.channel.recall(recall);
  }
}
