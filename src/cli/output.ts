import Table from 'cli-table3';

/** Writes a line to stdout (the CLI's only output path besides errors). */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a notice for the person at the terminal to stderr, leaving stdout to scripts. */
export function printNotice(text: string): void {
  process.stderr.write(`drover: ${text}\n`);
}

/** Writes JSON, pretty-printed, for scripts. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/**
 * Writes a list response as JSON with its list always there: the proto JSON mapping leaves an
 * empty repeated field out, so an empty list printed `{}` and a script's `jq '.tasks[]'`
 * failed on it (the HTTP API always writes the list too).
 */
export function printListJson(listKey: string, json: object): void {
  printJson({ [listKey]: [], ...json });
}

/** Prints rows as an aligned table with no borders, headers in the first row. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  print(formatTable(headers, rows));
}

/** Rows as an aligned table with no borders, headers in the first row. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const table = new Table({
    head: [...headers],
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  table.push(...rows.map((row) => [...row]));
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** A short human duration: "850ms", "12s", "4m", "3h". */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

/** Cuts text to `max` characters on one line. */
export function truncate(text: string | undefined, max: number): string {
  if (text === undefined || text === '') return '-';
  const oneLine = text.replace(/\s+/g, ' ');
  if (oneLine.length <= max) return oneLine;
  // A closing note in brackets ("(not counted)") changes what the text means: keep it.
  const note = / \([^()]{1,20}\)$/.exec(oneLine)?.[0];
  const kept = note !== undefined && note.length <= max / 2 ? note : '';
  return `${oneLine.slice(0, max - 1 - kept.length).trimEnd()}…${kept}`;
}

/**
 * Makes a closed stdout or stderr (`drover tasks | head -1`, `drover watch --json | head`)
 * end the process quietly, as SIGPIPE ends other Unix tools, instead of an unhandled EPIPE
 * with a stack trace. Node ignores SIGPIPE, so the failed write surfaces as an 'error'
 * event on the stream. The exit status is the one already set, 0 unless the command had
 * failed: the reader chose to stop reading. Any other write error (a full disk) exits 1.
 */
export function exitQuietlyWhenOutputCloses(): void {
  const onError =
    (stream: 'stdout' | 'stderr') =>
    (err: unknown): void => {
      const code = (err as { code?: unknown }).code;
      if (code === 'EPIPE') {
        process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      }
      if (stream === 'stdout') {
        process.stderr.write(
          `drover: cannot write to stdout: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
      process.exit(1);
    };
  process.stdout.on('error', onError('stdout'));
  process.stderr.on('error', onError('stderr'));
}
