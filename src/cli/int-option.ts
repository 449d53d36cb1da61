import { Option } from 'commander';
import { parseIntInRange as parseIntBetween } from '../shared/config.js';

/**
 * Integer options with both ends checked while commander parses, so an out-of-range
 * value stops the command with exit 2 and a message naming the flag and its range,
 * before any call is made. Without the upper end a value such as 4294967296 reached the
 * wire and came back as `invalid uint32 (INTERNAL)` (issue #14).
 */

/** The allowed range of an integer option, both ends included. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** The largest uint32, the wire type of most counts and durations. */
export const UINT32_MAX = 0xffff_ffff;

/**
 * The longest timer Node and grpc-js keep (2^31 - 1 ms, about 24.8 days); a longer call
 * deadline is dropped by grpc-js, and past 8.64e15 ms it is not even a valid Date.
 */
export const MAX_TIMER_MS = 0x7fff_ffff;

/** An integer option in `range`; with `env` and `defaultValue` when given. */
export function boundedIntOption(
  flags: string,
  description: string,
  range: IntRange,
  defaults: { env?: string; defaultValue?: number } = {},
): Option {
  const option = new Option(flags, description).argParser((value: string) =>
    parseIntInRange(value, range),
  );
  if (defaults.env !== undefined) option.env(defaults.env);
  if (defaults.defaultValue !== undefined) option.default(defaults.defaultValue);
  return option;
}

/** Parses a decimal integer in `range`, or throws an error commander shows with the flag. */
export function parseIntInRange(value: string, range: IntRange): number {
  return parseIntBetween(value, range.min, range.max);
}
