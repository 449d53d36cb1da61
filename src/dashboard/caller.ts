import { useEffect, useState } from 'preact/hooks';
import { allows } from '../leader/auth/roles.js';
import { api } from './api.js';

/** What an action needs beyond looking (read): the leader's roles (issue #20). */
export type ActionNeed = 'write' | 'admin';

type Role = 'read' | ActionNeed;

let asked: Promise<Role | undefined> | undefined;

/**
 * This tab's role, asked of the leader once (GET /v1/whoami). Undefined when it cannot be
 * told (a refusal, an older leader): then every action is offered and the leader judges.
 */
function callerRole(): Promise<Role | undefined> {
  asked ??= api<{ role?: string }>('GET', '/v1/whoami').then(
    ({ role }) => (role === 'read' || role === 'write' || role === 'admin' ? role : undefined),
    () => {
      asked = undefined; // asked again by the next view
      return undefined;
    },
  );
  return asked;
}

/**
 * Why this tab's token may not take an action that needs `need`, or undefined when it may
 * (or the role is not known). Buttons it refuses are shown disabled with this as the reason,
 * rather than clicked and refused.
 */
export function useRefusal(need: ActionNeed): string | undefined {
  const [role, setRole] = useState<Role | undefined>(undefined);
  useEffect(() => {
    let mounted = true;
    void callerRole().then((known) => mounted && setRole(known));
    return () => {
      mounted = false;
    };
  }, []);
  // The leader's own rule (roles.ts: pure, bundled here), so the page and it never disagree.
  if (role === undefined || allows(role, need)) return undefined;
  return `this token has role ${role}; this needs ${need}`;
}
