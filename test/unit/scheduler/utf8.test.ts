import { describe, expect, it } from 'vitest';
import { utf8ByteLength } from '../../../src/scheduler/utf8.js';

describe('utf8ByteLength', () => {
  it.each(['', 'abc', 'é', '€', '😀', 'a😀é€', '\ud800', 'x\udc00y', '\ud83d'])(
    'matches TextEncoder for %j',
    (text) => {
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
    },
  );
});

describe('utf8ByteLength at the encoding boundaries', () => {
  it.each([
    ['U+007F', '\u007f', 1],
    ['U+0080', '\u0080', 2],
    ['U+07FF', '\u07ff', 2],
    ['U+0800', '\u0800', 3],
    ['U+D7FF', '\ud7ff', 3],
    ['U+E000', '\ue000', 3],
    ['U+FFFF', '\uffff', 3],
    ['U+10000', '\u{10000}', 4],
    ['U+10FFFF', '\u{10ffff}', 4],
    ['a pair in the wrong order', '\udc00\ud800', 6],
    ['a high surrogate before a non-surrogate', '\ud800a', 4],
    ['two high surrogates then a low one', '\ud800\ud800\udc00', 7],
    ['a lone high surrogate at the end', 'ab\udbff', 5],
  ])('counts %s', (_what, text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
    expect(new TextEncoder().encode(text).length).toBe(bytes);
  });

  it('matches TextEncoder on many random strings of all kinds of code units', () => {
    // Seeded so a failure reproduces; includes every range, surrogates alone and in pairs.
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const ranges: [number, number][] = [
      [0x00, 0x7f],
      [0x80, 0x7ff],
      [0x800, 0xd7ff],
      [0xd800, 0xdbff],
      [0xdc00, 0xdfff],
      [0xe000, 0xffff],
    ];
    const encoder = new TextEncoder();
    for (let n = 0; n < 2_000; n++) {
      const units: number[] = [];
      const length = Math.floor(random() * 20);
      for (let i = 0; i < length; i++) {
        const [lo, hi] = ranges[Math.floor(random() * ranges.length)]!;
        units.push(lo + Math.floor(random() * (hi - lo + 1)));
      }
      const text = String.fromCharCode(...units);
      expect(utf8ByteLength(text), JSON.stringify(text)).toBe(encoder.encode(text).length);
    }
  });
});
