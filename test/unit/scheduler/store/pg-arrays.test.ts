import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { booleanArray, numberArray, textArray } from '../../../../src/scheduler/store/pg-arrays.js';
import { TEST_DATABASE_URL } from '../../../helpers/pg-schema.js';

describe('PostgreSQL array literals', () => {
  it('builds the literals PostgreSQL documents', () => {
    expect(numberArray([1, null, -3])).toBe('{1,NULL,-3}');
    expect(numberArray([])).toBe('{}');
    expect(booleanArray([true, false])).toBe('{t,f}');
    expect(textArray(['a', null, 'NULL', ''])).toBe('{"a",NULL,"NULL",""}');
    expect(textArray(['say "hi"', 'c:\\dir'])).toBe('{"say \\"hi\\"","c:\\\\dir"}');
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
