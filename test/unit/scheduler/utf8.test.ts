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
