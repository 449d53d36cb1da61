/**
 * Integer options with both ends checked while commander parses, so an out-of-range
 * value stops the command with exit 2 and a message naming the flag and its range,
 * before any call is made. Without the upper end a value such as 4294967296 reached the
 * wire and came back as `invalid uint32 (INTERNAL)` (issue #14).
 */

import { parseIntInRange as parseIntBetween, type IntRange } from '../shared/config.js';

// The CLI's integer options are built by the shared builder (one parser for every flag).
export { boundedIntOption, type IntRange } from '../shared/config.js';

/** The largest uint32, the wire type of most counts and durations. */
export const UINT32_MAX = 0xffff_ffff;

export { MAX_TIMER_MS } from '../shared/clock.js';

/** Parses a decimal integer in `range`, or throws an error commander shows with the flag. */
export function parseIntInRange(value: string, range: IntRange): number {
  return parseIntBetween(value, range.min, range.max);
}
