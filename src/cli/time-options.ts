import { InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import parseDuration from 'parse-duration';
import { MAX_DELAY_MS } from '../scheduler/new-task.js';

/**
 * `--in` and `--at` for delayed tasks, checked while commander parses (exit 2 and a message
 * naming the flag before any call). `--in` travels as delay_ms, so the wait is measured on
 * the leader's clock, not this machine's; `--at` is an absolute time and travels as run_at.
 */

/** An RFC 3339 / ISO 8601 time with a date, a time and a zone (Z or ±hh:mm). */
const TIME_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** A duration with units: 10m, 1h30m, 90s, 2d, 500ms (parse-duration's units). */
export function parseDelayMs(value: string): number {
  const text = value.trim();
  // A bare number has no unit: refused rather than guessed (seconds? milliseconds?).
  const ms = /[a-z]/i.test(text) ? parseDuration(text) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new CommanderArgumentError(
      `expected a duration with units such as 30s, 10m, 1h30m or 2d, got "${value}"`,
    );
  }
  if (ms > MAX_DELAY_MS) {
    throw new CommanderArgumentError(`"${value}" is more than 366 days; the most a task may wait`);
  }
  return Math.round(ms);
}

/** A time with its zone, as a Date. */
export function parseRunAt(value: string): Date {
  const text = value.trim();
  const at = new Date(text);
  if (!TIME_WITH_ZONE.test(text) || Number.isNaN(at.getTime())) {
    throw new CommanderArgumentError(
      `expected a time with its zone such as 2026-12-01T03:00:00Z or 2026-12-01T04:00+01:00, got "${value}"`,
    );
  }
  return at;
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
