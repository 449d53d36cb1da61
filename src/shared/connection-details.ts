import { errorMessage } from './errors.js';

/**
 * grpc-js's connection failure as a person reads it: without its empty "Resolution note:",
 * the "Error: " it puts before the system error it quotes, the time it stamps a protocol
 * error with, and the per-phase timings after a deadline.
 */
export function connectionDetails(details: string): string {
  return details
    .replace(/\.? Resolution note:\s*$/, '')
    .replace(/Last error: Error: /, 'Last error: ')
    .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, '')
    .replace(/(Deadline exceeded after [\d.]+s),.*$/, '$1')
    .trim();
}

/** An error from a call, as {@link connectionDetails} words it (for logs). */
export function connectionFailure(err: unknown): string {
  return connectionDetails(errorMessage(err));
}
