import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

/**
 * Parsers every drover command shares. Values are checked as commander parses them, so a
 * bad setting stops the process at start-up with a message naming the flag. The leader's
 * and worker's options are tables built on these (`shared/options/`).
 */

/**
 * The largest value an integer option takes unless it says otherwise: the longest delay a
 * Node timer keeps, and within the uint32 fields the protocol carries.
 */
export const MAX_INT_OPTION = 2_147_483_647;

/** The allowed range of an integer option, both ends included. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * An integer option in `range`, checked while commander parses, so an out-of-range value
 * stops the command with exit 2 and a message naming the flag and its range; with an
 * environment variable and a default when given.
 */
export function boundedIntOption(
  flags: string,
  description: string,
  range: IntRange,
  defaults: { env?: string; defaultValue?: number } = {},
): Option {
  const option = new Option(flags, description).argParser((value: string) =>
    parseIntInRange(value, range.min, range.max),
  );
  if (defaults.env !== undefined) option.env(defaults.env);
  if (defaults.defaultValue !== undefined) option.default(defaults.defaultValue);
  return option;
}

/** Parses a decimal integer in min..max, or throws an error commander shows with the flag. */
export function parseIntInRange(value: string, min: number, max = MAX_INT_OPTION): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CommanderArgumentError(
      `expected a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/** The items of one list value: comma-separated, trimmed, empty ones dropped. */
export function parseListItems(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
