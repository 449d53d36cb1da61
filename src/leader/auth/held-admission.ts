import type { Tokens } from './token-file.js';

/**
 * Keeps an open call (a worker's heartbeat stream, a watch) under the admission it was
 * let in by: each time the tokens change, `recheck` runs again, and when it throws (the
 * token was revoked, or its role no longer allows the call) `cut` ends the call with that
 * refusal. Without this, a leaked token revoked by `drover token revoke` would keep every
 * stream it had opened for as long as the stream lasted. Returns the release, for when the
 * call ends; with no tokens (an open leader, or certificates alone) there is nothing to hold.
 */
export function holdAdmission(
  tokens: Tokens | undefined,
  recheck: () => void,
  cut: (refusal: unknown) => void,
): () => void {
  if (tokens === undefined) return () => {};
  const stop = tokens.onReplace(() => {
    try {
      recheck();
    } catch (refusal) {
      stop();
      try {
        cut(refusal);
      } catch {
        // The call ended as it was cut: nothing is left to close, and the other open calls
        // must still be checked (Tokens.replace calls each listener in turn).
      }
    }
  });
  return stop;
}
