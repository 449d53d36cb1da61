import {
  NotFoundError,
  ConflictError,
  DeniedError,
  StaleError,
  InvalidArgumentError,
} from '../../shared/errors.js';
import type { MemberId } from '../../shared/ids.js';
import { isLive, takesWork, transition, type MemberState } from './state.js';
import { joinFields, newMember } from './new-member.js';

/** Timings that move members between states, in milliseconds. */
export interface MembershipTiming {
  /** Silence after which an alive member is suspect (gets no new work). */
  readonly suspectAfterMs: number;
  /** Silence after which a member is dead (its tasks are requeued). */
  readonly deadAfterMs: number;
  /** How long dead and left members stay listed before they are forgotten. */
  readonly retentionMs: number;
  /** Attempts failing in a row (errors, timeouts) that quarantine a member; 0: never. */
  readonly quarantineAfterFailures: number;
  /** How long a quarantine lasts (renewed while the worker reports FAILED). */
  readonly quarantineMs: number;
}

/** The worker's own view of itself, from its heartbeats. */
export type ReportedStatus = 'unspecified' | 'idle' | 'busy' | 'failed';

/** One member of the cluster. */
export interface Member {
  readonly id: MemberId;
  address: string;
  /** Random per worker process; tells a reconnect from another process using the same id. */
  instance: string;
  /** The secret its process's heartbeat streams must carry (from its Join). */
  session: string;
  slots: number;
  kinds: ReadonlySet<string>;
  /** Commands its `command` handler may run. */
  allowedCommands: ReadonlySet<string>;
  /** It starts a task handed ahead at the task's run time (JoinRequest.timed_starts). */
  timedStarts: boolean;
  /** It says which attempts it has begun (JoinRequest.began_notices). */
  beganNotices: boolean;
  /** Its last Join said it had joined before (JoinRequest.resumed). */
  resumed: boolean;
  /** How long its attempts may outlive it (JoinRequest.loss_fence_ms). */
  lossFenceMs: number;
  state: MemberState;
  stateSinceMs: number;
  /** Why it moved to its state ("no heartbeat for 3004 ms", "drained by an operator"). */
  stateReason: string;
  /**
   * Set while it gets no new work because it failed too much or says it is FAILED; it stays
   * alive and keeps its running tasks.
   */
  quarantine: { readonly untilMs: number; readonly reason: string } | undefined;
  /** Attempts that failed on it in a row since its last success. */
  consecutiveFailures: number;
  /** An operator drained it: it stays draining across reconnects of the same process. */
  drainRequested: boolean;
  /** Its last heartbeat said it drains on its own (SIGTERM): it is leaving. */
  drainingItself: boolean;
  joinedAtMs: number;
  lastHeartbeatAtMs: number | undefined;
  reportedStatus: ReportedStatus;
  /** The heartbeat stream that currently speaks for it; older streams are ignored. */
  streamId: number | undefined;
}

/** A state change, for the coordinator to act on and log. */
export interface Transition {
  readonly memberId: MemberId;
  /** Undefined for a member seen for the first time. */
  readonly from: MemberState | undefined;
  readonly to: MemberState;
  readonly reason: string;
}

/** A Join as the registry needs it. */
export interface JoinSpec {
  readonly id: MemberId;
  readonly address: string;
  readonly instance: string;
  readonly slots: number;
  readonly kinds: ReadonlySet<string>;
  readonly allowedCommands?: ReadonlySet<string> | undefined;
  /** It honours start times on start orders (timed starts); false if absent. */
  readonly timedStarts?: boolean | undefined;
  /** It says which attempts it has begun (HeartbeatRequest.began); false if absent. */
  readonly beganNotices?: boolean | undefined;
  /** How long its attempts may outlive it (JoinRequest.loss_fence_ms); 0 if absent. */
  readonly lossFenceMs?: number | undefined;
  /** This process joined before and lists every attempt it has (JoinRequest.resumed). */
  readonly resumed?: boolean | undefined;
  /** A fresh secret, kept only if this Join starts a new process's membership. */
  readonly session: string;
}

/** What a heartbeat says, beyond "I am here". */
export interface HeartbeatReport {
  readonly status: ReportedStatus;
  /** With status `failed`: why, in the worker's words. */
  readonly statusReason?: string | undefined;
  readonly draining: boolean;
}

/** A member went into quarantine or came out of it. */
export interface QuarantineChange {
  readonly memberId: MemberId;
  readonly quarantined: boolean;
  readonly reason: string;
}

/** True if the member should be given new tasks: alive and not quarantined. */
export function memberTakesWork(member: Member): boolean {
  return takesWork(member.state) && member.quarantine === undefined;
}

/**
 * Cluster membership: who is in, in what state. Pure: every call gets the time and returns
 * the transitions it made; the heartbeat stream adapter and the sweep timer feed it.
 * Heartbeats only touch memory here; nothing about them is ever persisted.
 */
export class MembershipRegistry {
  private readonly members = new Map<MemberId, Member>();
  private lastStreamId = 0;

  constructor(private readonly timing: MembershipTiming) {}

  /** Admits a worker, or re-admits it after it was dead, left, or its stream broke. */
  join(nowMs: number, spec: JoinSpec): { member: Member; transition: Transition } {
    if (spec.id.length === 0) throw new InvalidArgumentError('member id must not be empty');
    const existing = this.members.get(spec.id);
    if (existing && isLive(existing.state) && existing.instance !== spec.instance) {
      throw new ConflictError(
        `member ${spec.id} is already ${existing.state} (another worker process uses this id)`,
      );
    }
    // A new process under the id starts clean: a drain or quarantine was for the old one.
    const newProcess = existing === undefined || existing.instance !== spec.instance;
    const member: Member = existing ?? newMember(nowMs, spec);
    Object.assign(member, joinFields(nowMs, spec));
    // Another process: the old process's streams (and anyone who learned its secret)
    // can no longer speak for the member, and its drain or quarantine ends. A retried
    // Join of the same process keeps them.
    if (newProcess) {
      Object.assign(member, {
        session: spec.session,
        quarantine: undefined,
        consecutiveFailures: 0,
        drainRequested: false,
        drainingItself: false,
      });
    }
    this.members.set(spec.id, member);
    if (!existing) {
      return {
        member,
        transition: { memberId: spec.id, from: undefined, to: 'joining', reason: 'joined' },
      };
    }
    return { member, transition: this.move(member, nowMs, 'joining', 'rejoined') };
  }

  /** A heartbeat stream opened for a member; returns its stream id. */
  attachStream(id: MemberId, session: string): number {
    const member = this.members.get(id);
    if (!member) throw new NotFoundError(`member ${id} has not joined; call Join first`);
    // Before anything else is said about the member: a stream that is not its process's
    // learns nothing and changes nothing.
    if (session !== member.session) {
      throw new DeniedError(
        `this heartbeat stream does not carry the session member ${id}'s Join returned; only the process that joined may open its stream`,
      );
    }
    if (!isLive(member.state)) {
      throw new StaleError(`member ${id} is ${member.state}; call Join again`);
    }
    member.streamId = ++this.lastStreamId;
    return member.streamId;
  }

  /** A heartbeat arrived on a stream; stale streams are ignored. */
  heartbeat(
    nowMs: number,
    id: MemberId,
    streamId: number,
    report: HeartbeatReport,
  ): Transition | undefined {
    const member = this.members.get(id);
    if (!member || member.streamId !== streamId || !isLive(member.state)) {
      throw new StaleError(`heartbeat stream of member ${id} is no longer current; join again`);
    }
    member.lastHeartbeatAtMs = nowMs;
    member.reportedStatus = report.status;
    member.drainingItself = report.draining;
    if (report.status === 'failed') {
      // Renewed on every FAILED heartbeat: the quarantine outlasts the last one by its length.
      const reason = `worker reports FAILED${report.statusReason ? `: ${report.statusReason}` : ''}`;
      member.quarantine = { untilMs: nowMs + this.timing.quarantineMs, reason };
    }
    if (report.draining || member.drainRequested) {
      if (member.state !== 'draining') {
        return this.move(
          member,
          nowMs,
          'draining',
          member.drainRequested ? 'drained by an operator' : 'worker is draining',
        );
      }
      return undefined;
    }
    if (member.state === 'joining' || member.state === 'suspect') {
      return this.move(
        member,
        nowMs,
        'alive',
        member.state === 'joining' ? 'first heartbeat' : 'heartbeat resumed',
      );
    }
    return undefined;
  }

  /** A heartbeat stream ended; if it was the member's current one, the member is dead. */
  detachStream(
    nowMs: number,
    id: MemberId,
    streamId: number,
    reason: string,
  ): Transition | undefined {
    const member = this.members.get(id);
    if (!member || member.streamId !== streamId) return undefined;
    member.streamId = undefined;
    if (!isLive(member.state)) return undefined;
    return this.move(member, nowMs, 'dead', reason);
  }

  /**
   * An operator drains a member: no new work, its running tasks finish. It stays draining
   * across reconnects until a new worker process joins under its id.
   */
  drain(nowMs: number, id: MemberId): Transition | undefined {
    const member = this.members.get(id);
    if (!member) throw new NotFoundError(`member ${id} not found`);
    if (!isLive(member.state)) {
      throw new StaleError(`member ${id} is ${member.state}; only a live member can be drained`);
    }
    member.drainRequested = true;
    if (member.state === 'draining') return undefined;
    return this.move(member, nowMs, 'draining', 'drained by an operator');
  }

  /**
   * An operator ends its drain: the member takes new work again. Nothing to do for one
   * not drained by an operator; refused for one draining on its own (it is leaving).
   */
  undrain(nowMs: number, id: MemberId): Transition | undefined {
    const member = this.members.get(id);
    if (!member) throw new NotFoundError(`member ${id} not found`);
    if (member.drainingItself) {
      throw new StaleError(
        `member ${id} is draining on its own (its process is stopping); it cannot be undrained`,
      );
    }
    if (!member.drainRequested) return undefined;
    member.drainRequested = false;
    if (member.state !== 'draining') return undefined;
    return this.move(member, nowMs, 'alive', 'undrained by an operator');
  }

  /**
   * An attempt that ran on the member ended: a success clears its failure streak, a
   * failure (error or timeout) adds to it, and a long enough streak quarantines it, unless
   * half the alive members would then be held: tasks that fail wherever they run (a bad
   * batch, a dependency down) then cost at most half the cluster instead of stalling it,
   * as Envoy's outlier detection caps ejections. A sole worker is never held for failures.
   */
  recordOutcome(nowMs: number, id: MemberId, failed: boolean): QuarantineChange | undefined {
    const member = this.members.get(id);
    if (!member) return undefined;
    if (!failed) {
      member.consecutiveFailures = 0;
      return undefined;
    }
    member.consecutiveFailures++;
    const limit = this.timing.quarantineAfterFailures;
    if (limit === 0 || member.consecutiveFailures < limit || member.quarantine !== undefined) {
      return undefined;
    }
    const reason = `${member.consecutiveFailures} attempts in a row failed on it`;
    member.consecutiveFailures = 0;
    if (!this.mayHoldAnother(nowMs)) return undefined;
    member.quarantine = { untilMs: nowMs + this.timing.quarantineMs, reason };
    return { memberId: id, quarantined: true, reason };
  }

  /** Whether one more alive member may be quarantined with fewer than half held. */
  private mayHoldAnother(nowMs: number): boolean {
    let alive = 0;
    let held = 0;
    for (const member of this.members.values()) {
      if (member.state !== 'alive') continue;
      alive++;
      if (member.quarantine !== undefined && member.quarantine.untilMs > nowMs) held++;
    }
    return (held + 1) * 2 <= alive;
  }

  /**
   * The member leaves the cluster on purpose. With `session`, only if it is the one the
   * member's current Join returned: the process that joined is the one leaving.
   */
  leave(nowMs: number, id: MemberId, session?: string): Transition {
    const member = this.members.get(id);
    if (!member) throw new NotFoundError(`member ${id} not found`);
    if (session !== undefined && session !== member.session) {
      throw new DeniedError(
        `this Leave does not carry the session member ${id}'s Join returned; only the process that joined may leave`,
      );
    }
    if (member.state === 'left') {
      throw new StaleError(`member ${id} has already left`);
    }
    member.streamId = undefined;
    return this.move(member, nowMs, 'left', 'left the cluster');
  }

  /**
   * Moves silent members to suspect and dead, and forgets long-gone ones. Called on a
   * fixed interval by one timer for all members (no timer per member).
   */
  sweep(nowMs: number): {
    transitions: Transition[];
    quarantines: QuarantineChange[];
    forgotten: MemberId[];
  } {
    const transitions: Transition[] = [];
    const quarantines: QuarantineChange[] = [];
    const forgotten: MemberId[] = [];
    for (const member of this.members.values()) {
      if (member.quarantine !== undefined && nowMs >= member.quarantine.untilMs) {
        quarantines.push({
          memberId: member.id,
          quarantined: false,
          reason: `quarantine over (${member.quarantine.reason})`,
        });
        member.quarantine = undefined;
      }
      if (!isLive(member.state)) {
        if (nowMs - member.stateSinceMs >= this.timing.retentionMs) {
          this.members.delete(member.id);
          forgotten.push(member.id);
        }
        continue;
      }
      const silentMs = nowMs - (member.lastHeartbeatAtMs ?? member.joinedAtMs);
      if (silentMs >= this.timing.deadAfterMs) {
        member.streamId = undefined;
        transitions.push(this.move(member, nowMs, 'dead', `no heartbeat for ${silentMs} ms`));
      } else if (member.state === 'alive' && silentMs >= this.timing.suspectAfterMs) {
        transitions.push(this.move(member, nowMs, 'suspect', `no heartbeat for ${silentMs} ms`));
      }
    }
    return { transitions, quarantines, forgotten };
  }

  /** A member by id, if known. */
  get(id: MemberId): Member | undefined {
    return this.members.get(id);
  }

  /** All known members, sorted by id. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Number of members in a live state. */
  get liveCount(): number {
    let n = 0;
    for (const member of this.members.values()) if (isLive(member.state)) n++;
    return n;
  }

  private move(member: Member, nowMs: number, to: MemberState, reason: string): Transition {
    const from = member.state;
    member.state = transition(from, to);
    member.stateSinceMs = nowMs;
    member.stateReason = reason;
    return { memberId: member.id, from, to, reason };
  }
}
