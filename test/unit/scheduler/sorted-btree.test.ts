import { describe, expect, it } from 'vitest';
import { BTree } from '../../../src/scheduler/sorted-btree.js';

// The import workaround must hand over the class itself, whichever way the loader wrapped
// the CommonJS module (vitest here; Node's ESM loader in the built leader).
describe('BTree (sorted-btree, however it was loaded)', () => {
  it('is a constructor whose trees keep keys sorted and iterate from a key', () => {
    expect(typeof BTree).toBe('function');
    const tree = new BTree<number, string>();
    for (const key of [5, 1, 3, 4, 2]) tree.set(key, `v${key}`);
    expect([...tree.keys()]).toEqual([1, 2, 3, 4, 5]);
    expect([...tree.entries(3)]).toEqual([
      [3, 'v3'],
      [4, 'v4'],
      [5, 'v5'],
    ]);
    expect(tree.delete(3)).toBe(true);
    expect(tree.size).toBe(4);
  });

  it('orders by a given comparator, such as (time, seq) pairs', () => {
    const tree = new BTree<readonly [number, number], string>(
      undefined,
      (a, b) => a[0] - b[0] || a[1] - b[1],
    );
    tree.set([10, 2], 'b');
    tree.set([5, 9], 'c');
    tree.set([10, 1], 'a');
    expect([...tree.values()]).toEqual(['c', 'a', 'b']);
    // An equal key (a new array) finds the same entry.
    expect(tree.get([10, 1])).toBe('a');
  });
});
