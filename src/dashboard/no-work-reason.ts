import type { Member } from './types.js';

/**
 * Why a member gets no new work, in words, or '' when it can take some: the questions an
 * operator asks first (is it alive, draining, quarantined, unhealthy, full?).
 */
export function noWorkReason(member: Member, nowMs: number): string {
  const status = member.status ?? '';
  if (status !== 'alive') {
    return member.statusReason ? `${status}: ${member.statusReason}` : status || 'unknown state';
  }
  if (member.quarantinedUntil !== undefined && Date.parse(member.quarantinedUntil) > nowMs) {
    return `quarantined: ${member.quarantineReason ?? 'too many failures'}`;
  }
  if (member.reportedStatus === 'HEARTBEAT_STATUS_FAILED') {
    return `unhealthy: ${member.statusReason || 'its own health check failed'}`;
  }
  if ((member.slotsTotal ?? 0) === 0) return 'no slots';
  if ((member.slotsFree ?? 0) === 0) return 'all slots busy';
  if ((member.kinds ?? []).length === 0) return 'no task kinds';
  return '';
}
