import { describe, expect, it } from 'vitest';
import { WatchLimiter } from '../../../src/leader/watch-limiter.js';
import { TooManyError } from '../../../src/shared/errors.js';

describe('WatchLimiter', () => {
  it('refuses one more than the per-client and total limits, and admits again after a release', () => {
    const limiter = new WatchLimiter({ total: 3, perClient: 2 }, { request: () => undefined });
    const a1 = limiter.admit('a');
    limiter.admit('a');
    expect(() => limiter.admit('a')).toThrow(
      new TooManyError(
        'too many watches open from a (the most per client is 2); close one and watch again',
      ),
    );
    limiter.admit('b');
    expect(() => limiter.admit('c')).toThrow(
      /too many watches open on the leader \(the most is 3\)/,
    );
    a1();
    a1(); // a second release of the same watch changes nothing
    expect(limiter.size).toBe(2);
    expect(() => limiter.admit('c')).not.toThrow();
    expect(() => limiter.admit('a')).toThrow(/most is 3/);
  });
});
