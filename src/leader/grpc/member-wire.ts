import type { LeaderRow } from '../ha/lease-sql.js';
import {
  HeartbeatStatus,
  type FinishedTask,
  type HeartbeatRequest,
  type Leader,
  type Member as WireMember,
} from '../../gen/cluster/v1/leader.js';
import { asTaskId, type MemberId } from '../../shared/ids.js';
import { boundText, checkId } from '../../shared/text.js';
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
  for (const attempt of request.running) checkId(attempt.id, 'running task id');
  for (const attempt of request.began) checkId(attempt.id, 'begun task id');
  return {
    status: STATUS_FROM_WIRE.get(request.status) ?? 'unspecified',
    // Bounded: it is shown in listings, and a worker should not be able to bloat them.
    statusReason: request.statusReason.slice(0, 500),
    draining: request.draining,
    running: request.running.map((r) => ({ taskId: asTaskId(r.id), attempt: r.attempt })),
    began: request.began.map((r) => ({ taskId: asTaskId(r.id), attempt: r.attempt })),
  };
}

/**
 * Most characters of a result or error the leader keeps: the worker's own default limit
 * (1 MiB) and room for the marker it adds when it cuts one, so a task with its payload still fits the 4 MiB a default gRPC client reads
 * (a larger one made GetTask and every watch fail on it for every client).
 */
export const MAX_REPORT_TEXT_CHARS = 1024 * 1024 + 4096;

/**
 * A report sent on a member's heartbeat stream, as the scheduler takes it. A result or
 * error over {@link MAX_REPORT_TEXT_CHARS} is cut, with a marker, rather than refused: the
 * attempt did end, and refusing its report would leave the task running.
 */
export function finishedFromWire(finished: FinishedTask, memberId: MemberId): CompletionReport {
  return {
    taskId: asTaskId(checkId(finished.id, 'finished task id')),
    attempt: finished.attempt,
    memberId,
    result: cutReportText(finished.result),
    error: cutReportText(finished.error),
    permanent: finished.permanent,
    notStarted: finished.notStarted,
  };
}

function cutReportText(text: string | undefined): string | undefined {
  return text === undefined ? undefined : boundText(text, MAX_REPORT_TEXT_CHARS);
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
