import { DURATION_HINT, parseDuration } from '../shared/duration.js';

/** A delay as typed (`30s`, `10m`, `1h30m`, as the CLI's --in), in ms; undefined if none. */
export function parseDelay(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const ms = parseDuration(text.trim());
  if (ms === undefined) throw new Error(`delay "${text}": write ${DURATION_HINT}`);
  if (!Number.isSafeInteger(Math.round(ms))) throw new Error(`delay "${text}" is too long`);
  return Math.round(ms);
}
