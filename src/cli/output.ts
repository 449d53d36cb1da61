import Table from 'cli-table3';

/** Writes a line to stdout (the CLI's only output path besides errors). */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes JSON, pretty-printed, for scripts. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
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
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
