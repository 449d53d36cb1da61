/** The task statuses as people type them: lower case, without the enum's prefix. */
export const STATUS_WORDS = [
  'scheduled',
  'pending',
  'running',
  'completed',
  'cancelled',
  'error',
] as const;

/**
 * The words people use for two statuses, read as the status: a task that ended in ERROR is
 * the one that "failed" (a dead letter, as `drover retry` calls it), and US English cancels
 * with one l. Anything else is returned as it came.
 */
export function statusAlias(word: string): string {
  return word === 'failed' ? 'error' : word === 'canceled' ? 'cancelled' : word;
}
