import { describe, expect, it } from 'vitest';
import { utf8Bytes, utf8Head } from '../../../src/worker/utf8.js';

describe('utf8Head', () => {
  it('keeps text that fits', () => {
    expect(utf8Head('hello', 5)).toBe('hello');
    expect(utf8Head('', 0)).toBe('');
  });

  it('cuts on character boundaries, never over the byte limit', () => {
    expect(utf8Head('aéb', 2)).toBe('a'); // é is 2 bytes: it does not fit in 1
    expect(utf8Head('aéb', 3)).toBe('aé');
    expect(utf8Head('😀😀', 5)).toBe('😀'); // 4 bytes each
    expect(utf8Head('a😀', 4)).toBe('a');
    for (let limit = 0; limit < 20; limit++) {
      const head = utf8Head('é😀x€😀', limit);
      expect(utf8Bytes(head)).toBeLessThanOrEqual(limit);
      expect('é😀x€😀'.startsWith(head)).toBe(true);
      expect(head).not.toContain('\uFFFD');
    }
  });

  it('costs no more than its head for a huge string', () => {
    expect(utf8Head('x'.repeat(50_000_000), 10)).toBe('x'.repeat(10));
  });
});
