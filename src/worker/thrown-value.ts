import { boundText } from '../shared/text.js';
import { PermanentTaskError, TaskError } from './task-error.js';

/**
 * Longest error message a worker reports, in UTF-16 units (at most 3 UTF-8 bytes each, so
 * 48 KiB on the wire): an error is for people, and a report must stay far below the
 * leader's message limit.
 */
export const ERROR_LIMIT_CHARS = 16 * 1024;

/** What a handler threw, read without ever throwing. */
export interface ThrownValue {
  readonly message: string;
  /** A TaskError's output (kept as the task's result), if it is a string. */
  readonly output: string | undefined;
  /** It was a PermanentTaskError: fail the task without another attempt. */
  readonly permanent: boolean;
}

/**
 * Reads anything a handler threw. Handlers are user code and may throw anything: null, a
 * symbol, `Object.create(null)` (no toString), an object whose toString or message getter
 * throws, a Proxy that throws on every trap, a cyclic object, a 50 MB string. None of them
 * may crash the worker (issue #14): every access is guarded, and the message is bounded.
 */
export function readThrown(value: unknown): ThrownValue {
  const taskError = guarded(() => value instanceof TaskError, false);
  const output = taskError
    ? guarded(() => {
        const kept: unknown = (value as TaskError).output;
        return typeof kept === 'string' ? kept : undefined;
      }, undefined)
    : undefined;
  return {
    message: describeThrown(value),
    output,
    permanent: taskError && guarded(() => value instanceof PermanentTaskError, false),
  };
}

/** A readable, bounded message for any thrown value; never throws. */
export function describeThrown(value: unknown): string {
  return boundText(
    guarded(() => describe(value), 'the handler threw a value that could not be read'),
    ERROR_LIMIT_CHARS,
  );
}

export { boundText } from '../shared/text.js';

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value === '' ? 'the handler threw an empty string' : value;
    case 'undefined':
      return 'the handler threw undefined';
    case 'symbol':
      return `the handler threw ${value.toString()}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `the handler threw ${String(value)}`;
    case 'function':
      return `the handler threw a function (${guarded(() => value.name, '') || 'anonymous'})`;
    case 'object':
      return value === null ? 'the handler threw null' : describeObject(value);
  }
}

function describeObject(value: object): string {
  if (guarded(() => value instanceof Error, false)) {
    // The message as it is (retries keep and show it), unless reading it fails.
    const message = guarded((): unknown => (value as Error).message, undefined);
    if (typeof message === 'string' && message !== '') return message;
    const name = guarded((): unknown => (value as Error).name, undefined);
    return `the handler threw ${typeof name === 'string' && name !== '' ? name : 'an Error'} without a readable message`;
  }
  const kind = objectKind(value);
  // An own toString says what the author wants shown; Object's default ("[object Object]") does not.
  const own = guarded((): unknown => (value as { toString?: unknown }).toString, undefined);
  if (typeof own === 'function' && own !== Object.prototype.toString) {
    const text = guarded((): unknown => own.call(value), undefined);
    if (typeof text === 'string') return `the handler threw ${kind}: ${text}`;
  }
  const json = guarded(() => JSON.stringify(value), undefined);
  if (typeof json === 'string') return `the handler threw ${kind}: ${json}`;
  return `the handler threw ${kind} that cannot be shown (no usable toString or JSON)`;
}

/** "an object", "an object without prototype", "a Foo". */
function objectKind(value: object): string {
  const proto = guarded(() => Object.getPrototypeOf(value) as unknown, undefined);
  if (proto === null) return 'an object without prototype';
  const name = guarded(
    (): unknown => (value as { constructor?: { name?: unknown } }).constructor?.name,
    undefined,
  );
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Runs `read`; returns `fallback` if it throws (getters, toString and Proxy traps can). */
function guarded<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
