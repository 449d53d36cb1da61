import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

/** How logs are written: JSON lines for machines, or pretty for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  format: LogFormat;
  name: string;
}

const requireCjs = createRequire(import.meta.url);

/**
 * One pino logger per process; components take `logger.child({ component })`.
 * Pretty output runs in-process and synchronously rather than in a transport thread, so
 * lines from a leader and its workers under `drover dev` never interleave mid-line.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (options.format === 'pretty') {
    // pino-pretty ships CommonJS; loaded only when asked for.
    const pretty = requireCjs('pino-pretty') as (opts: object) => NodeJS.WritableStream;
    const stream = pretty({
      colorize: process.stdout.isTTY === true,
      translateTime: 'HH:MM:ss.l',
      ignore: 'pid,hostname,component',
      singleLine: true,
      sync: true,
    });
    return pino({ level: options.level, name: options.name }, stream);
  }
  return pino({ level: options.level, name: options.name });
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
