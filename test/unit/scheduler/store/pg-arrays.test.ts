import { describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  booleanArray,
  integerText,
  numberArray,
  textArray,
} from '../../../../src/scheduler/store/pg-arrays.js';
import { TEST_DATABASE_URL } from '../../../helpers/pg-schema.js';

describe('PostgreSQL array literals', () => {
  it('builds the literals PostgreSQL documents', () => {
    expect(numberArray([1, null, -3])).toBe('{1,NULL,-3}');
    expect(numberArray([])).toBe('{}');
    expect(booleanArray([true, false])).toBe('{t,f}');
    expect(textArray(['a', null, 'NULL', ''])).toBe('{"a",NULL,"NULL",""}');
    expect(textArray(['say "hi"', 'c:\\dir'])).toBe('{"say \\"hi\\"","c:\\\\dir"}');
  });

  it('writes every safe integer as String() does', () => {
    const samples = [
      0,
      1,
      -1,
      7,
      999_999_999,
      1e9,
      1e9 + 1,
      -1e9,
      1_796_059_387_088,
      2 ** 31,
      -(2 ** 31) - 1,
    ];
    samples.push(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e15 + 7, 10 ** 12 * 3 + 5);
    // Bounded and seeded: the same 10,000 values each run.
    let x = 12345;
    for (let i = 0; i < 10_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      samples.push(Math.floor((x / 2 ** 31) * Number.MAX_SAFE_INTEGER) * (i % 2 ? 1 : -1));
    }
    for (const value of samples) expect(integerText(value)).toBe(String(value));
  });

  it('refuses what a bigint column cannot hold exactly, rather than writing something else', () => {
    for (const value of [NaN, Infinity, -Infinity, 1.5, 2 ** 53, -(2 ** 53)]) {
      expect(() => integerText(value)).toThrow(TypeError);
    }
    expect(() => numberArray([1, 0.5])).toThrow(/not a safe integer/);
  });

  it('round-trips awkward text through PostgreSQL itself', async () => {
    const values = ['NULL', '', '{,}', '"', '\\', 'a "b" \\c\\', ' x ', 'é 😀', null];
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: (string | null)[] }>('SELECT $1::text[] AS v', [
        textArray(values),
      ]);
      expect(rows[0]!.v).toEqual(values);
      const numbers = await client.query<{ v: string[] }>('SELECT $1::bigint[] AS v', [
        numberArray([Number.MAX_SAFE_INTEGER, 0, null]),
      ]);
      expect(numbers.rows[0]!.v).toEqual([String(Number.MAX_SAFE_INTEGER), '0', null]);
    } finally {
      await client.end();
    }
  });
});
