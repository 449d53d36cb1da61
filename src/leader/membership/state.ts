import { DroverError } from '../../shared/errors.js';

/**
 * A member's state. `joining`: Join accepted, no heartbeat yet. `alive`: heartbeats arrive
 * and it gets work. `suspect`: a heartbeat is late; no new work, tasks kept. `draining`: it
 * is shutting down; no new work, its tasks finish. `dead`: stream closed or silent past the
 * timeout; its tasks went back to the queue. `left`: it said goodbye.
 */
export type MemberState = 'joining' | 'alive' | 'suspect' | 'draining' | 'dead' | 'left';

/** The only state changes there are; anything else is a bug and throws. */
const ALLOWED: Readonly<Record<MemberState, readonly MemberState[]>> = {
  // A reconnecting worker (same process) joins again from any live state.
  joining: ['joining', 'alive', 'draining', 'dead', 'left'],
  alive: ['joining', 'suspect', 'draining', 'dead', 'left'],
  suspect: ['joining', 'alive', 'draining', 'dead', 'left'],
  // Back to alive only when an operator's drain ends (undrain); a worker's own drain ends
  // with its process.
  draining: ['joining', 'alive', 'dead', 'left'],
  // A dead member may still say goodbye (its Leave raced the timeout).
  dead: ['joining', 'left'],
  left: ['joining'],
};

/** Every state a member can be in. */
export const MEMBER_STATES = Object.keys(ALLOWED) as readonly MemberState[];

/** Raised for a state change the table does not allow. */
export class InvalidTransitionError extends DroverError {
  constructor(
    readonly from: MemberState,
    readonly to: MemberState,
  ) {
    super('invalid', `a member cannot go from ${from} to ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Returns `to` if the table allows `from -> to`, else throws. */
export function transition(from: MemberState, to: MemberState): MemberState {
  if (!ALLOWED[from].includes(to)) throw new InvalidTransitionError(from, to);
  return to;
}

/** True while the member may hold work and must keep heartbeating. */
export function isLive(state: MemberState): boolean {
  return state !== 'dead' && state !== 'left';
}

/** True if the member should be given new tasks. */
export function takesWork(state: MemberState): boolean {
  return state === 'alive';
}
