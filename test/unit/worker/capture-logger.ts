import { pino, type Logger } from 'pino';

/** One log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A logger whose lines land in `lines`, parsed, as they are written. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (text: string) => void lines.push(JSON.parse(text) as LogLine) },
  );
  return { logger, lines };
}
