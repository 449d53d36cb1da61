import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors.js';

/** The user commands run as. */
export interface CommandUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The user `--command-user` names (issue #20): a name from /etc/passwd, or `uid:gid`.
 * Commands run as the worker's user share its trust (they can read its /proc entries, its
 * files, a join token among them); another user's cannot. Switching needs root, so a
 * worker that is not root refuses the flag at start rather than every command later.
 */
export function commandUser(
  spec: string,
  whoAmI: number,
  passwd: () => string = () => readFileSync('/etc/passwd', 'utf8'),
): CommandUser {
  if (whoAmI !== 0) {
    throw new InvalidArgumentError(
      `--command-user ${spec}: the worker must run as root to start commands as another user`,
    );
  }
  const numeric = /^(\d+):(\d+)$/.exec(spec);
  const user = numeric
    ? { uid: Number(numeric[1]), gid: Number(numeric[2]) }
    : lookUp(spec, passwd());
  if (user.uid === 0 || user.gid === 0) {
    throw new InvalidArgumentError(
      `--command-user ${spec} is root or in root's group: commands would keep the rights the flag is there to take away`,
    );
  }
  return user;
}

function lookUp(name: string, passwd: string): CommandUser {
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new InvalidArgumentError(`--command-user ${name}: no such user in /etc/passwd`);
}
