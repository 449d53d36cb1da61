import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  boundedIntOption,
  MAX_TIMER_MS,
  parseIntInRange,
  UINT32_MAX,
} from '../../../src/cli/int-option.js';

describe('parseIntInRange', () => {
  const range = { min: 1, max: 1000 };

  it.each([
    ['1', 1],
    ['1000', 1000],
    [' 42 ', 42],
    ['007', 7],
  ])('accepts %j', (value, expected) => {
    expect(parseIntInRange(value, range)).toBe(expected);
  });

  it.each(['0', '1001', '4294967296', '-1', '1.5', '1e3', '', ' ', '0x10', '99999999999999999999'])(
    'refuses %j, naming the range',
    (value) => {
      expect(() => parseIntInRange(value, range)).toThrow(
        `expected a whole number from 1 to 1000, got "${value}"`,
      );
    },
  );

  it('has the uint32 and timer limits as constants', () => {
    expect(UINT32_MAX).toBe(2 ** 32 - 1);
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });
});

describe('boundedIntOption', () => {
  const parse = (args: string[], env: Record<string, string> = {}): unknown => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const program = new Command('t')
        .exitOverride()
        .configureOutput({ writeErr: () => {} })
        .addOption(
          boundedIntOption('--n <n>', 'n', { min: 0, max: 10 }, { env: 'T_N', defaultValue: 3 }),
        );
      program.parse(args, { from: 'user' });
      return program.opts()['n'];
    } finally {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  };

  it('takes the default, the flag, and the environment', () => {
    expect(parse([])).toBe(3);
    expect(parse(['--n', '10'])).toBe(10);
    expect(parse([], { T_N: '0' })).toBe(0);
  });

  it('refuses a flag or an environment value out of range, naming the option', () => {
    expect(() => parse(['--n', '11'])).toThrow(
      /option '--n <n>' argument '11' is invalid\. expected a whole number from 0 to 10/,
    );
    expect(() => parse([], { T_N: '11' })).toThrow(/from env 'T_N' is invalid/);
  });
});
