import { describe, expect, it } from 'vitest';
import { PermanentTaskError, TaskError } from '../../../src/worker/task-error.js';
import {
  boundText,
  describeThrown,
  ERROR_LIMIT_CHARS,
  readThrown,
} from '../../../src/worker/thrown-value.js';

const refuses = (): never => {
  throw new Error('refused');
};

describe('describeThrown', () => {
  it('keeps an Error’s message and a string as they are', () => {
    expect(describeThrown(new Error('disk full'))).toBe('disk full');
    expect(describeThrown(new TypeError('bad'))).toBe('bad');
    expect(describeThrown('plain')).toBe('plain');
  });

  it('names values that are not errors', () => {
    expect(describeThrown(null)).toBe('the handler threw null');
    expect(describeThrown(undefined)).toBe('the handler threw undefined');
    expect(describeThrown('')).toBe('the handler threw an empty string');
    expect(describeThrown(Symbol('s'))).toBe('the handler threw Symbol(s)');
    expect(describeThrown(7)).toBe('the handler threw 7');
    expect(describeThrown(10n)).toBe('the handler threw 10');
    expect(describeThrown(false)).toBe('the handler threw false');
    expect(describeThrown(function named() {})).toBe('the handler threw a function (named)');
    expect(describeThrown({ code: 1 })).toBe('the handler threw an object: {"code":1}');
    class Oops {
      toString(): string {
        return 'oops!';
      }
    }
    expect(describeThrown(new Oops())).toBe('the handler threw a Oops: oops!');
  });

  it('never throws, whatever the value does', () => {
    const noPrototype = Object.create(null) as object;
    expect(describeThrown(noPrototype)).toBe('the handler threw an object without prototype: {}');
    expect(describeThrown({ toString: refuses })).toBe('the handler threw an object: {}');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(describeThrown(cyclic)).toBe(
      'the handler threw an object that cannot be shown (no usable toString or JSON)',
    );
    const hiddenMessage = new Error('x');
    Object.defineProperty(hiddenMessage, 'message', { get: refuses });
    expect(describeThrown(hiddenMessage)).toBe(
      'the handler threw Error without a readable message',
    );
    const trap = new Proxy({}, { get: refuses, getPrototypeOf: refuses, ownKeys: refuses });
    expect(describeThrown(trap)).toBe(
      'the handler threw an object that cannot be shown (no usable toString or JSON)',
    );
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(typeof describeThrown(revoked.proxy)).toBe('string');
  });

  it('bounds the message', () => {
    const message = describeThrown('y'.repeat(5_000_000));
    expect(message.length).toBeLessThan(ERROR_LIMIT_CHARS + 100);
    expect(message).toMatch(/… \[cut at 16384 of 5000000 characters\]$/);
  });
});

describe('boundText', () => {
  it('leaves short text alone and never splits a surrogate pair', () => {
    expect(boundText('abc', 3)).toBe('abc');
    expect(boundText('ab😀', 3)).toBe('ab… [cut at 3 of 4 characters]');
  });
});

describe('readThrown', () => {
  it('keeps a TaskError’s output and says whether it is permanent', () => {
    expect(readThrown(new TaskError('failed', 'log'))).toEqual({
      message: 'failed',
      output: 'log',
      permanent: false,
    });
    expect(readThrown(new PermanentTaskError('bad input'))).toEqual({
      message: 'bad input',
      output: undefined,
      permanent: true,
    });
  });

  it('ignores an output that is no string or cannot be read', () => {
    const odd = new TaskError('failed');
    Object.defineProperty(odd, 'output', { get: refuses });
    expect(readThrown(odd).output).toBeUndefined();
    expect(readThrown(Object.assign(new TaskError('x'), { output: 42 })).output).toBeUndefined();
    expect(readThrown(Object.create(null))).toMatchObject({ output: undefined, permanent: false });
  });
});
