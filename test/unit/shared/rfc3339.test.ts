import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../../src/shared/rfc3339.js';

describe('parseRfc3339', () => {
  it('reads a time with Z or an offset, with or without fractions', () => {
    expect(parseRfc3339('2026-12-01T03:00:00Z')).toBe(Date.UTC(2026, 11, 1, 3));
    expect(parseRfc3339('2026-12-01T04:00:00+01:00')).toBe(Date.UTC(2026, 11, 1, 3));
    expect(parseRfc3339('2026-11-30T22:00:00-05:00')).toBe(Date.UTC(2026, 11, 1, 3));
    expect(parseRfc3339('2026-12-01t03:00:00.250z')).toBe(Date.UTC(2026, 11, 1, 3, 0, 0, 250));
    expect(parseRfc3339('2026-12-01 03:00:00.123456789Z')).toBe(
      Date.UTC(2026, 11, 1, 3, 0, 0, 123),
    );
    expect(parseRfc3339('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(parseRfc3339('0001-01-01T00:00:00Z')).toBe(-62135596800000);
    expect(parseRfc3339('1969-12-31T23:59:59Z')).toBe(-1000);
  });

  it('refuses what Date would guess at: no zone, rolled-over dates, bare numbers, prose', () => {
    for (const text of [
      '2026-12-01T03:00:00', // no zone: whose midnight?
      '2026-12-01T03:00Z', // no seconds: not RFC 3339
      '2026-02-30T03:00:00Z',
      '2027-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01T03:60:00Z',
      '2026-12-01T03:00:00+0100',
      '2026-12-01T03:00:00+24:00',
      '1',
      '2026',
      'Dec 1 2026 3:00',
      '',
    ]) {
      expect(parseRfc3339(text), text).toBeUndefined();
    }
  });
});
