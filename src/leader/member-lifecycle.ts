import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import type { IdSource, MemberId } from '../shared/ids.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { outOfAttempts } from '../scheduler/task.js';
import type { Assignment } from './assignment.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MemberFeed } from './member-feed.js';
import {
  memberTakesWork,
  type JoinSpec,
  type Member,
  type MembershipRegistry,
  type MembershipTiming,
  type QuarantineChange,
  type Transition,
} from './membership/registry.js';
import type { HeartbeatInput, MemberView, WorkChannel } from './views.js';
import type { WorkChannels } from './work-channels.js';

/** What the membership glue reads and drives. */
export interface MemberLifecycleDeps {
  readonly membership: MembershipRegistry;
  readonly scheduler: Scheduler;
  readonly channels: WorkChannels;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly feed: Pick<MemberFeed, 'changed'>;
  readonly clock: Clock;
  readonly ids: Pick<IdSource, 'secret'>;
  readonly log: Logger;
  readonly heartbeatIntervalMs: number;
  readonly timing: MembershipTiming;
}

/** What Join answers. */
export interface JoinAnswer {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly session: string;
  /** When a worker stops its keyed attempts after losing the leader (see fenceAfterMs). */
  readonly fenceAfterMs: number;
}

/**
 * How long after its last heard heartbeat a worker keeps running attempts with a
 * concurrency key: the dead timeout, less a margin for timer lag and the stop itself
 * (a quarter of it, 50 ms to 1 s). The leader holds their places under their keys'
 * limits for the whole dead timeout after it last heard the worker, so a worker cut off
 * (or a leader that lost it) never lets a key run more than its limit.
 */
export function fenceAfterMs(deadAfterMs: number): number {
  return deadAfterMs - Math.min(1000, Math.max(50, Math.round(deadAfterMs / 4)));
}

/**
 * Membership glue: carries each member transition (from the pure registry) over to the
 * scheduler's slots, the member's work channel and the watchers. A member that dies or
 * leaves has its stream closed and its attempts requeued; one that turns alive (or has its
 * quarantine lifted) gets work at once.
 */
export class MemberLifecycle {
  constructor(private readonly deps: MemberLifecycleDeps) {}

  /** The member, if known. */
  get(id: MemberId): Member | undefined {
    return this.deps.membership.get(id);
  }

  /** Join: admits a worker; it gets work once its first heartbeat arrives. */
  join(spec: Omit<JoinSpec, 'session'>): JoinAnswer {
    const { membership, ids, timing } = this.deps;
    const { member, transition } = membership.join(this.now(), { ...spec, session: ids.secret() });
    this.apply(transition);
    return {
      heartbeatIntervalMs: this.deps.heartbeatIntervalMs,
      heartbeatTimeoutMs: timing.deadAfterMs,
      session: member.session,
      fenceAfterMs: fenceAfterMs(timing.deadAfterMs),
    };
  }

  /** Leave: the member goes; anything it still ran goes back to the queue. */
  leave(id: MemberId, session?: string): void {
    this.apply(this.deps.membership.leave(this.now(), id, session));
  }

  /** Every known member with its load. */
  views(): MemberView[] {
    const nowMs = this.now();
    const { scheduler } = this.deps;
    return this.deps.membership.list().map((member) => {
      const runningTaskIds = scheduler.runningOn(member.id);
      const slotsStopping = scheduler.stoppingOn(member.id);
      return {
        member,
        runningTaskIds,
        slotsFree: Math.max(0, member.slots - runningTaskIds.length - slotsStopping),
        slotsStopping,
        heartbeatAgeMs:
          member.lastHeartbeatAtMs === undefined ? undefined : nowMs - member.lastHeartbeatAtMs,
      };
    });
  }

  /**
   * Drain: no new work to the member; what it runs finishes, and what it holds unstarted
   * (handed ahead of a free slot) it is asked to hand back, as its own SIGTERM drain does,
   * so those go to other workers now. Returns it as it is now.
   */
  drain(id: MemberId): MemberView {
    const transition = this.deps.membership.drain(this.now(), id);
    if (transition) {
      this.apply(transition);
      this.recallAll(id, 'its member was drained by an operator');
    }
    return this.views().find((view) => view.member.id === id)!;
  }

  /** Undrain: an operator's drain ends, and the member takes new work again. */
  undrain(id: MemberId): MemberView {
    const transition = this.deps.membership.undrain(this.now(), id);
    if (transition) this.apply(transition);
    return this.views().find((view) => view.member.id === id)!;
  }

  /**
   * Asks a member to hand back every attempt it has not begun: it knows which those are
   * (the leader does not), and runs the rest on. Not marked as recalled for the sweep
   * (held-recall.ts): a recall the worker ignores must not count as one on its way.
   */
  private recallAll(memberId: MemberId, reason: string): void {
    const { scheduler, channels } = this.deps;
    for (const taskId of scheduler.runningOn(memberId)) {
      const task = scheduler.get(taskId);
      if (task.status !== 'running' || task.memberId !== memberId) continue;
      channels.sendRecall({ memberId, taskId, attempt: task.attempt, reason });
    }
  }

  /** A heartbeat stream opened: it becomes the member's work channel. */
  openStream(id: MemberId, session: string, channel: WorkChannel): number {
    const streamId = this.deps.membership.attachStream(id, session);
    this.deps.channels.open(id, streamId, channel);
    return streamId;
  }

  /**
   * A heartbeat: keeps the member alive and checks what it runs. On the first heartbeat of
   * a stream, attempts it kept running while disconnected are re-attached.
   */
  heartbeat(id: MemberId, streamId: number, input: HeartbeatInput, first: boolean): void {
    const { membership, scheduler, log } = this.deps;
    const quarantinedBefore = membership.get(id)?.quarantine;
    const transition = membership.heartbeat(this.now(), id, streamId, input);
    if (transition) this.apply(transition);
    const quarantine = membership.get(id)?.quarantine;
    if (quarantinedBefore === undefined && quarantine !== undefined) {
      this.applyQuarantine({ memberId: id, quarantined: true, reason: quarantine.reason });
    }
    // Before the reconcile: what it began and re-attaches counts as begun if it is lost.
    if (input.began !== undefined && input.began.length > 0 && membership.get(id)?.beganNotices) {
      scheduler.noteBegan(this.now(), id, input.began);
    }
    if (!first && input.running.length === 0) return;
    const resumed = membership.get(id)?.resumed ?? false;
    const { changed, stops } = scheduler.reconcile(id, input.running, first, this.now(), resumed);
    for (const task of changed) {
      // Re-attached ones run on it; the others it did not list were requeued (or failed).
      const fields = { memberId: id, taskId: task.id, attempt: task.attempt };
      if (task.status === 'running') log.info(fields, 'task re-attached');
      else log.info({ ...fields, status: task.status, error: task.error }, 'task not re-attached');
    }
    if (changed.length > 0) this.deps.feed.changed(id);
    this.deps.commits.then(changed, () => {
      this.deps.channels.sendStops(stops);
      if (first) this.deps.assignment.request();
    });
  }

  /** A heartbeat stream ended (worker closed it, or the connection broke). */
  closeStream(id: MemberId, streamId: number, reason: string): void {
    this.deps.channels.forget(id, streamId);
    const transition = this.deps.membership.detachStream(this.now(), id, streamId, reason);
    if (transition) this.apply(transition);
  }

  /** Counts an attempt's outcome toward the member's quarantine. */
  recordOutcome(nowMs: number, id: MemberId, failed: boolean): void {
    const change = this.deps.membership.recordOutcome(nowMs, id, failed);
    if (change) this.applyQuarantine(change);
  }

  /** Carries a member transition over to slots, channel and watchers. */
  apply(transition: Transition): void {
    const { memberId, from, to, reason } = transition;
    this.deps.feed.changed(memberId);
    this.deps.log.info({ memberId, from, to, reason }, `member ${to}`);
    switch (to) {
      case 'joining': {
        const member = this.deps.membership.get(memberId)!;
        const { slots, kinds, timedStarts, beganNotices, lossFenceMs } = member;
        const abilities = { timedStarts, beganNotices, lossFenceMs };
        this.deps.scheduler.upsertWorker(memberId, slots, kinds, abilities);
        this.refreshEligibility(memberId);
        return;
      }
      case 'alive':
      case 'suspect':
      case 'draining':
        this.refreshEligibility(memberId);
        return;
      case 'dead':
      case 'left':
        this.remove(memberId, to, reason);
        return;
    }
  }

  /** A quarantine put on or lifted: the member's eligibility for new work follows. */
  applyQuarantine(change: QuarantineChange): void {
    const { memberId, quarantined, reason } = change;
    this.deps.feed.changed(memberId);
    if (quarantined) this.deps.log.warn({ memberId, reason }, 'member quarantined');
    else this.deps.log.info({ memberId, reason }, 'member quarantine lifted');
    this.refreshEligibility(memberId);
  }

  /** A member gone for good: its stream closes and what it ran goes back to the queue. */
  private remove(memberId: MemberId, to: 'dead' | 'left', reason: string): void {
    this.deps.channels.close(memberId, `member ${memberId} is ${to}: ${reason}`);
    // A lost worker may still run its keyed attempts until its fence stops them: their
    // places under the keys' limits are held until the dead timeout after it was last
    // heard (a closed stream makes a member dead before that).
    const member = this.deps.membership.get(memberId);
    const lastHeardMs = member?.lastHeartbeatAtMs ?? member?.joinedAtMs;
    const holdUntilMs =
      to === 'dead' && lastHeardMs !== undefined
        ? lastHeardMs + this.deps.timing.deadAfterMs
        : undefined;
    const { changed } = this.deps.scheduler.removeWorker(
      memberId,
      `was ${to === 'dead' ? 'lost' : 'gone'} (${reason})`,
      holdUntilMs,
      this.now(),
    );
    for (const task of changed) {
      const { id: taskId, attempt, status } = task;
      // A timed start lost before its run time waits for it again rather than requeued; one
      // lost on its last attempt waits for its worker, then fails (worker-loss.ts).
      const what =
        status === 'scheduled'
          ? 'task waits for its run time again'
          : task.retryAtMs === undefined
            ? 'task requeued'
            : outOfAttempts(task)
              ? 'task on its last attempt waits for its worker to come back'
              : "task waits out its worker's loss fence (its commands may still be stopping)";
      this.deps.log.warn({ memberId, taskId, attempt }, what);
    }
    // Always a round: it also sets the due timer for the end of any held places.
    this.deps.commits.then(changed, () => this.deps.assignment.request());
  }

  /** New work goes only to members that are alive and not quarantined. */
  private refreshEligibility(memberId: MemberId): void {
    const member = this.deps.membership.get(memberId);
    const eligible = member !== undefined && memberTakesWork(member);
    this.deps.scheduler.setEligible(memberId, eligible);
    if (eligible) this.deps.assignment.request();
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }
}
