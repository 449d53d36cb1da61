import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';
import type { LogFormat } from './logger.js';

/**
 * Builders for options every drover process shares. Each option has a flag, an
 * environment variable and a default; values are checked as they are parsed, so a bad
 * setting stops the process at start-up with a message naming the flag.
 */

/** An integer option (>= min) with an environment variable and a default. */
export function intOption(
  flags: string,
  description: string,
  env: string,
  defaultValue: number,
  min = 1,
): Option {
  return new Option(flags, description)
    .env(env)
    .default(defaultValue)
    .argParser((value: string) => parseIntAtLeast(value, min));
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

/** Parses a decimal integer >= min, or throws an error commander shows with the flag. */
export function parseIntAtLeast(value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new CommanderArgumentError(`expected a whole number of at least ${min}, got "${value}"`);
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
