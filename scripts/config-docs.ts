/**
 * Writes the README's configuration tables from the leader's and worker's option tables
 * (`src/leader/options.ts`, `src/worker/options.ts`), between the marker comments
 * `<!-- config:leader:start -->` / `<!-- config:leader:end -->` and the same for `worker`,
 * so the docs cannot drift from the flags.
 *
 *   tsx scripts/config-docs.ts           rewrite README.md          (npm run docs:config)
 *   tsx scripts/config-docs.ts --check   exit 1 if README.md is out of date (CI)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { LEADER_OPTIONS } from '../src/leader/options.js';
import { optionDocTable } from '../src/shared/options/docs.js';
import type { AnyOptionSpec } from '../src/shared/options/table.js';
import { WORKER_OPTIONS } from '../src/worker/options.js';

/** The README this script keeps current. */
export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));

/** The generated tables, by the name in their markers. */
const TABLES: Readonly<Record<string, readonly AnyOptionSpec[]>> = {
  leader: LEADER_OPTIONS,
  worker: WORKER_OPTIONS,
};

/** The README with every generated table rewritten, and the names of those that changed. */
export async function renderConfigDocs(readme: string): Promise<{ text: string; stale: string[] }> {
  // Laid out by Prettier with the repository's settings, so `format:check` agrees.
  const options = { ...(await prettier.resolveConfig(README_PATH)), parser: 'markdown' };
  let text = readme;
  const stale: string[] = [];
  for (const [name, table] of Object.entries(TABLES)) {
    const start = `<!-- config:${name}:start -->`;
    const end = `<!-- config:${name}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} markers`);
    const body = `\n\n${await prettier.format(optionDocTable(table), options)}\n`;
    if (text.slice(from + start.length, to) !== body) stale.push(name);
    text = text.slice(0, from + start.length) + body + text.slice(to);
  }
  return { text, stale };
}

async function main(args: readonly string[]): Promise<void> {
  const check = args.includes('--check');
  const { text, stale } = await renderConfigDocs(await readFile(README_PATH, 'utf8'));
  if (stale.length === 0) {
    process.stdout.write('README.md: configuration tables are current\n');
  } else if (check) {
    process.stderr.write(
      `README.md: the ${stale.join(' and ')} configuration table(s) differ from the option ` +
        'tables (src/leader/options.ts, src/worker/options.ts); run `npm run docs:config` ' +
        'and commit README.md\n',
    );
    process.exitCode = 1;
  } else {
    await writeFile(README_PATH, text);
    process.stdout.write(`README.md: rewrote the ${stale.join(' and ')} configuration table(s)\n`);
  }
}

// Run as a script, not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
