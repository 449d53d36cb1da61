import { Option } from 'commander';
import { MAX_INT_OPTION, parseIntInRange, parseListItems } from '../config.js';
import type { OptionDocs, OptionSpec } from './table.js';

/**
 * Builders for the rows of an option table, one per kind of value. Each infers the row's
 * section, key and value type from its arguments, so a table's sections are typed without
 * a cast at any use.
 */

/** What every row gives, whatever its kind. */
export interface RowInput<S extends string, K extends string> {
  readonly section: S;
  readonly key: K;
  readonly flags: string;
  readonly help: string;
  readonly env?: string;
  readonly docs?: OptionDocs;
}

/**
 * An integer in min..max (min 1 unless given), checked while commander parses: a bad value
 * stops the command with exit 2 and a message naming the flag and the range.
 */
export function intOption<const S extends string, const K extends string>(
  row: RowInput<S, K> & { readonly default: number; readonly min?: number; readonly max?: number },
): OptionSpec<S, K, number> {
  const { min = 1, max = MAX_INT_OPTION, ...rest } = row;
  return {
    ...rest,
    parse: (raw) => parseIntInRange(raw, min, max),
    read: (stored) => (typeof stored === 'number' ? stored : misread(row, 'a number', stored)),
  };
}

/** A list: a repeatable flag whose values may hold commas, or a comma-separated variable. */
export function listOption<const S extends string, const K extends string>(
  row: RowInput<S, K> & { readonly default: readonly string[] },
): OptionSpec<S, K, readonly string[]> {
  const initial = row.default;
  return {
    ...row,
    parse: (raw, previous) => {
      const items = parseListItems(raw);
      // Commander passes the default as `previous` on the first flag: replace it, then add.
      return previous === undefined || previous === initial ? items : [...previous, ...items];
    },
    read: (stored) => (isTextList(stored) ? stored : misread(row, 'a list of strings', stored)),
  };
}

/** Free text, taken as given; without a default, undefined when not set. */
export function textOption<const S extends string, const K extends string>(
  row: RowInput<S, K> & { readonly default: string },
): OptionSpec<S, K, string>;
export function textOption<const S extends string, const K extends string>(
  row: RowInput<S, K>,
): OptionSpec<S, K, string | undefined>;
export function textOption<const S extends string, const K extends string>(
  row: RowInput<S, K> & { readonly default?: string },
): OptionSpec<S, K, string | undefined> {
  return {
    ...row,
    read: (stored) =>
      stored === undefined || typeof stored === 'string' ? stored : misread(row, 'text', stored),
  };
}

/** One of a fixed set of words, checked (and listed in the help) by commander. */
export function choiceOption<
  const S extends string,
  const K extends string,
  const C extends readonly string[],
>(
  row: RowInput<S, K> & { readonly choices: C; readonly default: C[number] },
): OptionSpec<S, K, C[number]> {
  const isChoice = (stored: unknown): stored is C[number] =>
    row.choices.some((choice) => choice === stored);
  return {
    ...row,
    read: (stored) => (isChoice(stored) ? stored : misread(row, row.choices.join('|'), stored)),
  };
}

/**
 * A switch without a value. `--no-x` reads true unless given. A switch's environment
 * variable turns it on whatever its text (commander's rule for flags without a value);
 * the string `true` is accepted too, should commander ever pass the text through.
 */
export function switchOption<const S extends string, const K extends string>(
  row: RowInput<S, K> & { readonly default?: boolean },
): OptionSpec<S, K, boolean> {
  const negated = new Option(row.flags).negate;
  return {
    ...row,
    read: (stored) => (negated ? stored !== false : stored === true || stored === 'true'),
  };
}

function isTextList(stored: unknown): stored is readonly string[] {
  return Array.isArray(stored) && stored.every((item) => typeof item === 'string');
}

/** A stored value of the wrong type: a mistake in the table, not in the user's input. */
function misread(row: RowInput<string, string>, expected: string, stored: unknown): never {
  throw new TypeError(`option ${row.flags}: expected ${expected}, got ${String(stored)}`);
}
