/**
 * Whether a handler's return value is a promise-like: anything with a callable `then`, as
 * Promise.resolve would adopt it (a handler may return another library's thenable).
 */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
