import type { JoinSpec, Member } from './registry.js';

/** A member record for a worker joining under an id not seen before. */
export function newMember(nowMs: number, spec: JoinSpec): Member {
  return {
    id: spec.id,
    address: spec.address,
    instance: spec.instance,
    session: spec.session,
    slots: spec.slots,
    kinds: spec.kinds,
    allowedCommands: spec.allowedCommands ?? new Set(),
    timedStarts: spec.timedStarts ?? false,
    beganNotices: spec.beganNotices ?? false,
    lossFenceMs: spec.lossFenceMs ?? 0,
    state: 'joining',
    stateSinceMs: nowMs,
    stateReason: 'joined',
    quarantine: undefined,
    consecutiveFailures: 0,
    drainRequested: false,
    drainingItself: false,
    joinedAtMs: nowMs,
    lastHeartbeatAtMs: undefined,
    reportedStatus: 'unspecified',
    streamId: undefined,
  };
}
