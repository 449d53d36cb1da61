import { Option, type Command } from 'commander';

/**
 * A process's options as one declarative table: each row names its flag, environment
 * variable, default, parser, help and the config section its value lands in. The same
 * table registers the flags on commander, reads the parsed values back as typed, grouped,
 * frozen sections, and renders the README's configuration tables (`scripts/config-docs.ts`),
 * so help, config and docs cannot drift apart. After Temporal's compiled worker options
 * (`packages/worker/src/worker-options.ts`): the table gives raw sections, and each process
 * compiles them once into its config (derived fields, cross-field checks).
 */

/** How the README shows an option where its help text or default would say too little. */
export interface OptionDocs {
  /** The meaning column; the help text when absent. */
  readonly meaning?: string;
  /** The default column, e.g. `7 days`; derived from the default when absent. */
  readonly default?: string;
}

/** One row of an option table: a flag whose value lands in `section.key` as a `T`. */
export interface OptionSpec<S extends string, K extends string, T> {
  /** The config section the value belongs to, e.g. `membership`. */
  readonly section: S;
  /** The value's name in its section; need not follow the flag (`retentionMs`). */
  readonly key: K;
  /** Commander flags, shown verbatim in the help, e.g. `--listen <host:port...>`. */
  readonly flags: string;
  /** The help text. */
  readonly help: string;
  /** The environment variable read when the flag is not given. */
  readonly env?: string;
  /** The value when neither flag nor environment variable is given. */
  readonly default?: T;
  /** The allowed values; commander checks them and lists them in the help. */
  readonly choices?: readonly string[];
  /**
   * Turns one flag or environment value into the value; throws commander's
   * InvalidArgumentError, which commander reports with the flag. Method syntax on purpose:
   * a table holds rows of different `T`, and a method's parameters compare bivariantly.
   */
  parse?(raw: string, previous: T | undefined): T;
  /** Narrows what commander stored (a default, a parsed value, a switch) to `T`. */
  readonly read: (stored: unknown) => T;
  readonly docs?: OptionDocs;
}

/** A row of any section, key and type; what a table is made of. */
export type AnyOptionSpec = OptionSpec<string, string, unknown>;

/** The value type of one row. */
export type OptionValue<O> = O extends OptionSpec<string, string, infer T> ? T : never;

/** The typed sections a table reads back: `{ [section]: { [key]: value } }`, all readonly. */
export type OptionSections<L extends readonly AnyOptionSpec[]> = {
  readonly [S in L[number]['section']]: {
    readonly [O in L[number] as O['section'] extends S ? O['key'] : never]: OptionValue<O>;
  };
};

/**
 * Checks and returns a table: no flag, attribute, environment variable or `section.key`
 * may appear twice (a second row would silently shadow the first in commander).
 */
export function optionTable<const L extends readonly AnyOptionSpec[]>(rows: L): L {
  const seen = new Set<string>();
  const claim = (what: string): void => {
    if (seen.has(what)) throw new Error(`option table: ${what} appears twice`);
    seen.add(what);
  };
  for (const row of rows) {
    claim(`flags ${row.flags}`);
    claim(`attribute ${attributeName(row)}`);
    claim(`value ${row.section}.${row.key}`);
    if (row.env !== undefined) claim(`env ${row.env}`);
  }
  return deepFreeze(rows);
}

/** Registers every row of a table on a command, in table order (the help's order). */
export function addOptions(command: Command, table: readonly AnyOptionSpec[]): Command {
  for (const row of table) command.addOption(commanderOption(row));
  return command;
}

/** The commander option of one row. */
function commanderOption(row: AnyOptionSpec): Option {
  const option = new Option(row.flags, row.help);
  // Choices install commander's own parser (and its error message); a row has one or other.
  if (row.choices !== undefined) option.choices(row.choices);
  if (row.parse !== undefined) option.argParser(row.parse.bind(row));
  if (row.env !== undefined) option.env(row.env);
  if (row.default !== undefined) option.default(row.default);
  return option;
}

/**
 * Reads commander's parsed options back into the table's sections, each value narrowed by
 * its row, and freezes the lot, arrays included.
 */
export function readSections<const L extends readonly AnyOptionSpec[]>(
  table: L,
  opts: Readonly<Record<string, unknown>>,
): OptionSections<L> {
  const sections: Record<string, Record<string, unknown>> = {};
  for (const row of table) {
    const section = (sections[row.section] ??= {});
    section[row.key] = deepFreeze(row.read(opts[attributeName(row)]));
  }
  // The one cast of the facility: the loop above builds exactly the mapped type.
  return deepFreeze(sections) as OptionSections<L>;
}

/** Freezes a value and everything reachable from it (config holds no cycles); returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The key commander stores a row's value under (`--no-http` → `http`). */
function attributeName(row: AnyOptionSpec): string {
  return new Option(row.flags).attributeName();
}
