import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import { MAX_DELAY_MS } from '../scheduler/new-task.js';
import { parseRfc3339, RFC3339_HINT } from '../shared/rfc3339.js';
import { DURATION_HINT, parseDuration } from '../shared/duration.js';

/**
 * `--in` and `--at` for delayed tasks, checked while commander parses (exit 2 and a message
 * naming the flag before any call). `--in` travels as delay_ms, so the wait is measured on
 * the leader's clock, not this machine's; `--at` is an absolute time and travels as run_at.
 */

/** A flag's duration with units (10m, 1h30m, 90s, 2d, 500ms; see duration.ts), in ms. */
export function parseDurationArg(value: string): number {
  const ms = parseDuration(value.trim());
  if (ms === undefined) {
    throw new CommanderArgumentError(`expected ${DURATION_HINT}, got "${value}"`);
  }
  return ms;
}

/** A delay: a duration of at most 366 days. */
export function parseDelayMs(value: string): number {
  const ms = parseDurationArg(value);
  if (ms > MAX_DELAY_MS) {
    throw new CommanderArgumentError(`"${value}" is more than 366 days, the most allowed`);
  }
  return Math.round(ms);
}

/** An RFC 3339 time with its zone, as a Date (strictly: see parseRfc3339). */
export function parseRunAt(value: string): Date {
  const atMs = parseRfc3339(value.trim());
  if (atMs === undefined) {
    throw new CommanderArgumentError(`expected a time: ${RFC3339_HINT}; got "${value}"`);
  }
  // As --in: refused here (by this machine's clock) rather than by the leader, exit 2.
  if (atMs - Date.now() > MAX_DELAY_MS) {
    throw new CommanderArgumentError(`"${value}" is more than 366 days ahead, the most allowed`);
  }
  return new Date(atMs);
}

/** The two options, on any command that schedules. */
export function delayOptions(): Option[] {
  return [
    new Option('--in <duration>', 'start no earlier than this from now: 30s, 10m, 1h30m, 2d')
      .argParser(parseDelayMs)
      .conflicts('at'),
    new Option('--at <time>', 'start no earlier than this time (RFC 3339, with its zone)')
      .argParser(parseRunAt)
      .conflicts('in'),
  ];
}
