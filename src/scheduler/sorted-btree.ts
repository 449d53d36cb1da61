import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default`: Node's ESM loader hands over the whole
// module (class at `.default`) while vitest unwraps it to the class. Accept both.
type BTreeClass = typeof sortedBtree.default;

/** sorted-btree's `BTree` class, however the module loader handed the package over. */
export const BTree = ((sortedBtree as { default?: BTreeClass }).default ??
  sortedBtree) as unknown as BTreeClass;

/** A sorted map from sorted-btree: ordered iteration from any key in O(log n). */
export type BTree<K, V> = InstanceType<typeof BTree<K, V>>;
