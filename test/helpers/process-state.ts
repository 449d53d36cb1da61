import { readFileSync } from 'node:fs';

/**
 * Whether a process has ended: it is gone, or only a zombie left for its parent (init, for
 * an orphan) to reap. Read from /proc, as `kill -0` counts a zombie as alive.
 */
export function processGone(pid: number): boolean {
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
