import type { AnyOptionSpec } from './table.js';

/**
 * The README's view of an option table: one Markdown row per option (flag, environment
 * variable, default, meaning), in table order. Unaligned: `scripts/config-docs.ts` has
 * Prettier lay it out, as it does the rest of the README.
 */

/** The columns of one README row, as Markdown. */
export interface OptionDocRow {
  readonly flag: string;
  readonly env: string;
  readonly default: string;
  readonly meaning: string;
}

/** The README row of every option of a table. */
export function optionDocRows(table: readonly AnyOptionSpec[]): OptionDocRow[] {
  return table.map((row) => {
    const list = /<([^>]+)\.\.\.>/.exec(row.flags);
    return {
      flag: flagCell(row, list?.[1]),
      env: row.env === undefined ? '—' : `\`${row.env}\`${list ? ' (comma list)' : ''}`,
      default: row.docs?.default ?? defaultCell(row),
      meaning: meaningCell(row),
    };
  });
}

/** A table's rows as a Markdown table with the columns flag, env, default and meaning. */
export function optionDocTable(table: readonly AnyOptionSpec[]): string {
  const cells = (values: readonly string[]): string =>
    `| ${values.map((value) => value.replaceAll('|', '\\|')).join(' | ')} |`;
  const rows = optionDocRows(table).map((row) =>
    cells([row.flag, row.env, row.default, row.meaning]),
  );
  return [cells(['flag', 'env', 'default', 'meaning']), '| --- | --- | --- | --- |', ...rows]
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * A few choices go in the flag column (`--store sqlite|memory`), more would make it wide, so
 * they go at the end of the meaning.
 */
const MAX_CHOICES_IN_FLAG = 3;

/** `--store sqlite|memory`, `--listen host:port` (repeatable), else the long flag alone. */
function flagCell(row: AnyOptionSpec, listItem: string | undefined): string {
  const long = row.flags.split(/[\s,]+/).find((part) => part.startsWith('--')) ?? row.flags;
  if (row.choices !== undefined && row.choices.length <= MAX_CHOICES_IN_FLAG) {
    return `\`${long} ${row.choices.join('|')}\``;
  }
  if (listItem !== undefined) return `\`${long} ${listItem}\` (repeatable)`;
  return `\`${long}\``;
}

function meaningCell(row: AnyOptionSpec): string {
  const meaning = row.docs?.meaning ?? row.help;
  if (row.choices === undefined || row.choices.length <= MAX_CHOICES_IN_FLAG) return meaning;
  return `${meaning}: ${row.choices.map((choice) => `\`${choice}\``).join(', ')}`;
}

/** The default as the environment variable would spell it; `off`, `none` or `empty` else. */
function defaultCell(row: AnyOptionSpec): string {
  const value = row.default;
  if (!/[<[]/.test(row.flags) || typeof value === 'boolean') return 'off';
  if (value === undefined) return 'none';
  if (value === '') return 'empty';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}
