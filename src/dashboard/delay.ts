import { DURATION_HINT, parseDuration } from '../shared/duration.js';

/** 366 days: the longest delay the leader takes (as new-task.ts's MAX_DELAY_MS). */
const MAX_DELAY_MS = 366 * 86_400_000;

/** A delay as typed (`30s`, `10m`, `1h30m`, as the CLI's --in), in ms; undefined if none. */
export function parseDelay(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const ms = parseDuration(text.trim());
  if (ms === undefined) throw new Error(`delay "${text}": write ${DURATION_HINT}`);
  // The leader's own bound (new-task.ts MAX_DELAY_MS), said in the words typed here
  // rather than as the leader's `delay_ms must be ... 31622400000`.
  if (ms > MAX_DELAY_MS) throw new Error(`delay "${text}" is more than 366 days, the most allowed`);
  return Math.round(ms);
}
