import type { JoinSpec, Member } from './registry.js';

/** What every Join (a first one, or again) sets on the member from what the worker says. */
export function joinFields(nowMs: number, spec: JoinSpec) {
  return {
    address: spec.address,
    instance: spec.instance,
    slots: spec.slots,
    kinds: spec.kinds,
    allowedCommands: spec.allowedCommands ?? new Set<string>(),
    timedStarts: spec.timedStarts ?? false,
    beganNotices: spec.beganNotices ?? false,
    resumed: spec.resumed ?? false,
    lossFenceMs: spec.lossFenceMs ?? 0,
    joinedAtMs: nowMs,
    lastHeartbeatAtMs: undefined,
    streamId: undefined,
  };
}

/** A member record for a worker joining under an id not seen before. */
export function newMember(nowMs: number, spec: JoinSpec): Member {
  return {
    ...joinFields(nowMs, spec),
    id: spec.id,
    session: spec.session,
    state: 'joining',
    stateSinceMs: nowMs,
    stateReason: 'joined',
    quarantine: undefined,
    consecutiveFailures: 0,
    drainRequested: false,
    drainingItself: false,
    reportedStatus: 'unspecified',
  };
}
