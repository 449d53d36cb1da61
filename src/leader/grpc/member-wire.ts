import type { LeaderRow } from '../ha/lease-sql.js';
import {
  HeartbeatStatus,
  type FinishedTask,
  type HeartbeatRequest,
  type Leader,
  type Member as WireMember,
} from '../../gen/cluster/v1/leader.js';
import { asTaskId, type MemberId } from '../../shared/ids.js';
import type { CompletionReport } from '../../scheduler/scheduler.js';
import type { HeartbeatInput, MemberView } from '../views.js';
import type { ReportedStatus } from '../membership/registry.js';

// Conversions between the wire (src/gen) and membership types.

const STATUS_FROM_WIRE = new Map<HeartbeatStatus, ReportedStatus>([
  [HeartbeatStatus.HEARTBEAT_STATUS_UNSPECIFIED, 'unspecified'],
  [HeartbeatStatus.HEARTBEAT_STATUS_IDLE, 'idle'],
  [HeartbeatStatus.HEARTBEAT_STATUS_BUSY, 'busy'],
  [HeartbeatStatus.HEARTBEAT_STATUS_FAILED, 'failed'],
]);

const STATUS_TO_WIRE = new Map([...STATUS_FROM_WIRE].map(([wire, domain]) => [domain, wire]));

/** A member as the Members RPC sends it. */
export function memberToWire(view: MemberView): WireMember {
  const { member } = view;
  return {
    id: member.id,
    address: member.address,
    status: member.state,
    slotsTotal: member.slots,
    slotsFree: view.slotsFree,
    runningTaskIds: [...view.runningTaskIds],
    lastHeartbeatAgeMs: view.heartbeatAgeMs,
    kinds: [...member.kinds].sort(),
    reportedStatus: STATUS_TO_WIRE.get(member.reportedStatus)!,
    statusReason: member.stateReason,
    quarantinedUntil:
      member.quarantine === undefined ? undefined : new Date(member.quarantine.untilMs),
    quarantineReason: member.quarantine?.reason ?? '',
    consecutiveFailures: member.consecutiveFailures,
    allowedCommands: [...member.allowedCommands].sort(),
    slotsStopping: view.slotsStopping,
  };
}

/** A heartbeat as the coordinator takes it. Unknown statuses read as unspecified. */
export function heartbeatFromWire(request: HeartbeatRequest): HeartbeatInput {
  return {
    status: STATUS_FROM_WIRE.get(request.status) ?? 'unspecified',
    // Bounded: it is shown in listings, and a worker should not be able to bloat them.
    statusReason: request.statusReason.slice(0, 500),
    draining: request.draining,
    running: request.running.map((r) => ({ taskId: asTaskId(r.id), attempt: r.attempt })),
    began: request.began.map((r) => ({ taskId: asTaskId(r.id), attempt: r.attempt })),
  };
}

/** A report sent on a member's heartbeat stream, as the scheduler takes it. */
export function finishedFromWire(finished: FinishedTask, memberId: MemberId): CompletionReport {
  return {
    taskId: asTaskId(finished.id),
    attempt: finished.attempt,
    memberId,
    result: finished.result,
    error: finished.error,
    permanent: finished.permanent,
    notStarted: finished.notStarted,
  };
}

/** A leader of the group on the wire. */
export function leaderToWire(row: LeaderRow): Leader {
  return {
    id: row.id,
    address: row.address,
    httpAddress: row.httpAddress ?? '',
    role: row.role,
    term: row.term ?? 0,
    leaseAgeMs: row.leaseAgeMs,
    seenAgoMs: row.seenAgoMs,
  };
}
