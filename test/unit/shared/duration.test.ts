import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/shared/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['500ms', 500],
    ['1m500ms', 60_500],
    ['1.5h', 5_400_000],
    ['0s', 0],
    ['1d2h3m4s5ms', 93_784_005],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '30',
    '1m1m',
    '5S',
    '1H',
    '30s10m',
    '1 m',
    ' 1m',
    '-5s',
    '1.s',
    '.5s',
    '1w',
    'm',
    '1mss',
    '1sm',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
