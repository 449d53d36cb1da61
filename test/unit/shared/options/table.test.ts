import { Command } from 'commander';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  choiceOption,
  intOption,
  listOption,
  switchOption,
  textOption,
} from '../../../../src/shared/options/kinds.js';
import {
  addOptions,
  deepFreeze,
  optionTable,
  readSections,
} from '../../../../src/shared/options/table.js';

const TABLE = optionTable([
  listOption({
    section: 'net',
    key: 'peers',
    flags: '--peer <host:port...>',
    help: 'peers',
    env: 'T_OPT_PEERS',
    default: ['a:1'],
  }),
  intOption({
    section: 'net',
    key: 'timeoutMs',
    flags: '--timeout-ms <ms>',
    help: 'timeout',
    env: 'T_OPT_TIMEOUT_MS',
    default: 5,
    min: 0,
    max: 10,
  }),
  switchOption({ section: 'net', key: 'http', flags: '--no-http', help: 'no http' }),
  textOption({ section: 'who', key: 'name', flags: '--name <text>', help: 'name', default: 'x' }),
  textOption({ section: 'who', key: 'id', flags: '--id <id>', help: 'id', env: 'T_OPT_ID' }),
  choiceOption({
    section: 'who',
    key: 'mode',
    flags: '--mode <mode>',
    help: 'mode',
    env: 'T_OPT_MODE',
    choices: ['fast', 'safe'],
    default: 'safe',
  }),
  switchOption({
    section: 'who',
    key: 'loud',
    flags: '--loud',
    help: 'loud',
    env: 'T_OPT_LOUD',
    default: false,
  }),
]);

function parse(args: string[]) {
  const command = addOptions(new Command('t'), TABLE)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  command.parse(args, { from: 'user' });
  return readSections(TABLE, command.opts());
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('option table', () => {
  it('reads the defaults into typed sections', () => {
    const sections = parse([]);
    expect(sections).toEqual({
      net: { peers: ['a:1'], timeoutMs: 5, http: true },
      who: { name: 'x', id: undefined, mode: 'safe', loud: false },
    });
    expectTypeOf(sections.net.timeoutMs).toEqualTypeOf<number>();
    expectTypeOf(sections.net.peers).toEqualTypeOf<readonly string[]>();
    expectTypeOf(sections.who.id).toEqualTypeOf<string | undefined>();
    expectTypeOf(sections.who.mode).toEqualTypeOf<'fast' | 'safe'>();
    expectTypeOf(sections.who.loud).toEqualTypeOf<boolean>();
  });

  it('takes the flags, repeated list flags adding up with commas split', () => {
    const sections = parse([
      '--peer',
      'b:2',
      '--peer',
      'c:3, d:4',
      '--timeout-ms',
      '10',
      '--no-http',
      '--id',
      'w1',
      '--mode',
      'fast',
      '--loud',
    ]);
    expect(sections.net).toEqual({ peers: ['b:2', 'c:3', 'd:4'], timeoutMs: 10, http: false });
    expect(sections.who).toMatchObject({ id: 'w1', mode: 'fast', loud: true });
  });

  it('falls back to the environment, and a flag wins over it', () => {
    vi.stubEnv('T_OPT_PEERS', 'e:5,,f:6');
    vi.stubEnv('T_OPT_TIMEOUT_MS', '0');
    vi.stubEnv('T_OPT_ID', 'env-id');
    vi.stubEnv('T_OPT_LOUD', 'false'); // a switch's variable turns it on, whatever its text
    expect(parse([])).toMatchObject({
      net: { peers: ['e:5', 'f:6'], timeoutMs: 0 },
      who: { id: 'env-id', loud: true },
    });
    expect(parse(['--timeout-ms', '7', '--id', 'flag-id'])).toMatchObject({
      net: { timeoutMs: 7 },
      who: { id: 'flag-id' },
    });
  });

  it('refuses bad values while parsing, naming the flag or the variable', () => {
    expect(() => parse(['--timeout-ms', '11'])).toThrow(
      /option '--timeout-ms <ms>' argument '11' is invalid\. expected a whole number from 0 to 10, got "11"/,
    );
    vi.stubEnv('T_OPT_TIMEOUT_MS', 'soon');
    expect(() => parse([])).toThrow(/from env 'T_OPT_TIMEOUT_MS' is invalid/);
    vi.unstubAllEnvs();
    expect(() => parse(['--mode', 'slow'])).toThrow(/Allowed choices are fast, safe/);
  });
});

describe('option table sections and rows', () => {
  it('freezes the sections and what they hold', () => {
    const sections = parse(['--peer', 'b:2']);
    expect(Object.isFrozen(sections)).toBe(true);
    expect(Object.isFrozen(sections.net)).toBe(true);
    expect(Object.isFrozen(sections.net.peers)).toBe(true);
  });

  it('registers the flags in table order, with env and default in the help', () => {
    const help = addOptions(new Command('t'), TABLE).helpInformation();
    const flags = [...help.matchAll(/^ {2}(--[\w-]+)/gm)].map((match) => match[1]);
    expect(flags).toEqual([
      '--peer',
      '--timeout-ms',
      '--no-http',
      '--name',
      '--id',
      '--mode',
      '--loud',
    ]);
    expect(help).toContain('(default: 5, env: T_OPT_TIMEOUT_MS)');
    expect(help.replace(/\s+/g, ' ')).toContain(
      '(choices: "fast", "safe", default: "safe", env: T_OPT_MODE)',
    );
  });

  it('refuses a table that names a flag, variable or value twice', () => {
    const row = { section: 's', key: 'k', flags: '--k <n>', help: 'k', default: 1 };
    expect(() => optionTable([intOption(row), intOption({ ...row, key: 'j' })])).toThrow(
      'flags --k <n> appears twice',
    );
    expect(() => optionTable([intOption(row), intOption({ ...row, flags: '--j <n>' })])).toThrow(
      'value s.k appears twice',
    );
    expect(() =>
      optionTable([
        intOption({ ...row, env: 'T_E' }),
        intOption({ ...row, key: 'j', flags: '--j <n>', env: 'T_E' }),
      ]),
    ).toThrow('env T_E appears twice');
  });

  it('throws a TypeError when a stored value does not fit its row', () => {
    expect(() => readSections(TABLE, { peer: 'a:1', timeoutMs: 1 })).toThrow(TypeError);
    expect(() => readSections(TABLE, { peer: [], timeoutMs: '1' })).toThrow(
      'option --timeout-ms <ms>: expected a number, got 1',
    );
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays, and returns its argument', () => {
    const value = { a: { b: [1, { c: 2 }] } };
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value.a.b[1])).toBe(true);
  });
});
