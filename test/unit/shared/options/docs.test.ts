import { describe, expect, it } from 'vitest';
import { optionDocRows, optionDocTable } from '../../../../src/shared/options/docs.js';
import {
  choiceOption,
  intOption,
  listOption,
  switchOption,
  textOption,
} from '../../../../src/shared/options/kinds.js';
import { optionTable } from '../../../../src/shared/options/table.js';

const TABLE = optionTable([
  listOption({
    section: 's',
    key: 'listen',
    flags: '--listen <host:port...>',
    help: 'addresses',
    env: 'T_LISTEN',
    default: ['a:1', 'b:2'],
  }),
  intOption({
    section: 's',
    key: 'ms',
    flags: '--wait-ms <ms>',
    help: 'wait',
    env: 'T_WAIT_MS',
    default: 7,
    docs: { meaning: 'how long to wait' },
  }),
  choiceOption({
    section: 's',
    key: 'store',
    flags: '--store <kind>',
    help: 'store',
    env: 'T_STORE',
    choices: ['a', 'b'],
    default: 'a',
  }),
  choiceOption({
    section: 's',
    key: 'level',
    flags: '--level <level>',
    help: 'level',
    choices: ['x', 'y', 'z', 'w'],
    default: 'x',
  }),
  textOption({
    section: 's',
    key: 'id',
    flags: '--id <id>',
    help: 'id',
    docs: { default: 'random' },
  }),
  textOption({ section: 's', key: 'address', flags: '--address <a>', help: 'a', default: '' }),
  textOption({ section: 's', key: 'ca', flags: '--ca <file>', help: 'ca' }),
  switchOption({ section: 's', key: 'http', flags: '--no-http', help: 'no http' }),
]);

describe('option docs', () => {
  it('derives each README cell from the row', () => {
    expect(optionDocRows(TABLE)).toEqual([
      {
        flag: '`--listen host:port` (repeatable)',
        env: '`T_LISTEN` (comma list)',
        default: '`a:1,b:2`',
        meaning: 'addresses',
      },
      { flag: '`--wait-ms`', env: '`T_WAIT_MS`', default: '`7`', meaning: 'how long to wait' },
      { flag: '`--store a|b`', env: '`T_STORE`', default: '`a`', meaning: 'store' },
      { flag: '`--level`', env: '—', default: '`x`', meaning: 'level: `x`, `y`, `z`, `w`' },
      { flag: '`--id`', env: '—', default: 'random', meaning: 'id' },
      { flag: '`--address`', env: '—', default: 'empty', meaning: 'a' },
      { flag: '`--ca`', env: '—', default: 'none', meaning: 'ca' },
      { flag: '`--no-http`', env: '—', default: 'off', meaning: 'no http' },
    ]);
  });

  it('renders a Markdown table, escaping pipes', () => {
    const lines = optionDocTable(TABLE).split('\n');
    expect(lines[0]).toBe('| flag | env | default | meaning |');
    expect(lines[1]).toBe('| --- | --- | --- | --- |');
    expect(lines[4]).toBe('| `--store a\\|b` | `T_STORE` | `a` | store |');
    expect(lines).toHaveLength(TABLE.length + 3); // header, rule, rows, final newline
  });
});
