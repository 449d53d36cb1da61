import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import type { LogFormat } from './logger.js';

/**
 * Builders for options every drover process shares. Each option has a flag, an
 * environment variable and a default; values are checked as they are parsed, so a bad
 * setting stops the process at start-up with a message naming the flag.
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

/** An integer option (min..max) with an environment variable and a default. */
export function intOption(
  flags: string,
  description: string,
  env: string,
  defaultValue: number,
  min = 1,
  max = MAX_INT_OPTION,
): Option {
  return boundedIntOption(flags, description, { min, max }, { env, defaultValue });
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

/** A list option: repeatable flag, or a comma-separated environment variable. */
export function listOption(
  flags: string,
  description: string,
  env: string,
  defaultValue: string[],
): Option {
  return new Option(flags, description)
    .env(env)
    .default(defaultValue)
    .argParser((value: string, previous: string[] | undefined) => {
      const items = value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      // Commander passes the default as `previous` on the first flag: replace it, then add.
      return previous === undefined || previous === defaultValue ? items : [...previous, ...items];
    });
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

/** Log level and format options. */
export function addLogOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--log-level <level>', 'pino log level')
        .env('DROVER_LOG_LEVEL')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'json lines, or pretty for people')
        .env('DROVER_LOG_FORMAT')
        .choices(['json', 'pretty'])
        .default('json'),
    );
}

/** The log settings, read back from parsed options. */
export function logSettings(opts: Record<string, unknown>): { level: string; format: LogFormat } {
  return { level: String(opts['logLevel']), format: opts['logFormat'] as LogFormat };
}
