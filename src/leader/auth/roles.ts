/**
 * What a caller may do (issue #20). `read` lists, gets, watches and reads output and
 * metrics; `write` also schedules, cancels, re-runs and deletes; `admin` also drains
 * members and sets limits, cron schedules and pauses. `worker` is a join token: it may only
 * join, heartbeat, report and leave, as a worker does, and nothing an operator does.
 */
export type Role = 'read' | 'write' | 'admin' | 'worker';

/**
 * What a call needs: a role; any token the leader knows, whatever its role (`token`: who
 * am I); or nothing (`public`: health checks, the dashboard's files).
 */
export type Need = Role | 'token' | 'public';

const RANK: Readonly<Record<'read' | 'write' | 'admin', number>> = { read: 1, write: 2, admin: 3 };

/** Whether a token of role `have` may make a call that needs `need`. */
export function allows(have: Role, need: Need): boolean {
  if (need === 'public' || need === 'token') return true;
  if (need === 'worker' || have === 'worker') return have === need;
  return RANK[have] >= RANK[need];
}

/** Every role, for flags and checks. */
export const ROLES: readonly Role[] = ['read', 'write', 'admin', 'worker'];

/** A role named on a command line or in the token file, checked. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
