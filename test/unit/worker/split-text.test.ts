import { describe, expect, it } from 'vitest';
import { splitText } from '../../../src/worker/leader-link.js';

describe('splitText', () => {
  it('cuts text into pieces of at most the size, in order', () => {
    expect(splitText('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(splitText('', 3)).toEqual([]);
    expect(splitText('ab', 3)).toEqual(['ab']);
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const pieces = splitText('ab😀cd', 3); // 😀 is two UTF-16 units
    expect(pieces.join('')).toBe('ab😀cd');
    for (const piece of pieces) expect(piece).not.toMatch(/[\uD800-\uDBFF]$/);
    expect(pieces[0]).toBe('ab');
  });
});
