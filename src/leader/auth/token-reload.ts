import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import type { LeaderTimers } from '../leader-timers.js';
import { fileVersion, readTokenFile, type Tokens } from './token-file.js';

/** How often the tokens file is looked at for a change. */
export const TOKENS_CHECK_MS = 2_000;

/**
 * Follows the tokens file, so `drover token create` and `revoke` (or an edit, or a
 * Kubernetes secret swapped under it) take effect within TOKENS_CHECK_MS, without a
 * restart: when the file's identity, size or time changes it is read again, and every call
 * from then on is checked against what it holds; an empty list too (the last token
 * revoked: every call is refused). A file that cannot be used then (cut short by an
 * editor, open to writes by others) leaves the tokens as they were, and says so. Polled with stat rather than fs.watch, which misses a file replaced by rename
 * or through a symlink (what token revoke and Kubernetes both do). Returns the stop.
 *
 * Calls still open (a worker's heartbeat stream, a watch) are checked again against the
 * new tokens, and those the change refuses are cut (see holdAdmission).
 */
export function followTokenFile(
  path: string,
  tokens: Tokens,
  /** The version `tokens` were read from: a change made while the leader started counts. */
  since: string,
  deps: { readonly timers: Pick<LeaderTimers, 'every'>; readonly log: Logger },
): () => void {
  let seen = since;
  return deps.timers.every(TOKENS_CHECK_MS, () => {
    const now = version(path);
    if (now === seen) return;
    seen = now;
    try {
      // Empty is taken: the last token revoked refuses everyone, as it says.
      const { entries } = readTokenFile(path, true);
      tokens.replace(entries);
      if (entries.length === 0) {
        deps.log.warn({ tokensFile: path }, 'tokens file holds no tokens: every call is refused');
      } else {
        deps.log.info({ tokensFile: path, tokens: entries.length }, 'tokens file read again');
      }
    } catch (err) {
      deps.log.error(
        { tokensFile: path, tokens: tokens.size, err: errorMessage(err) },
        'tokens file changed but cannot be used; the tokens read before still hold',
      );
    }
  });
}

/** What tells one state of the file from another (see fileVersion). */
function version(path: string): string {
  try {
    return fileVersion(statSync(path));
  } catch (err) {
    return `missing: ${errorMessage(err)}`;
  }
}
