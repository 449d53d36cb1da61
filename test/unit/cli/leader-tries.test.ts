import { describe, expect, it } from 'vitest';
import { LeaderTries, MAX_HINT_HOPS } from '../../../src/cli/leader-tries.js';

/** Every leader `tries` hands out when each try fails naming `hintOf(address)`. */
function exhaust(tries: LeaderTries, hintOf: (address: string) => string | undefined): string[] {
  const seen = [tries.first()];
  // Bounded well past what LeaderTries may hand out, so a bug fails instead of hanging.
  for (let i = 0; i < 100; i++) {
    const next = tries.after(seen.at(-1)!, hintOf(seen.at(-1)!));
    if (next === undefined) return seen;
    seen.push(next);
  }
  throw new Error(`no end: ${seen.join(' ')}`);
}

describe('LeaderTries', () => {
  it('tries each listed leader once when no refusal names another', () => {
    const tries = new LeaderTries(['a:1', 'b:2', 'c:3']);
    expect(exhaust(tries, () => undefined)).toEqual(['a:1', 'b:2', 'c:3']);
    expect(tries.describe('c:3')).toBe('c:3 (tried a:1, b:2, c:3)');
  });

  it('names one leader alone, as a single --leader always did', () => {
    const tries = new LeaderTries(['a:1']);
    expect(exhaust(tries, () => undefined)).toEqual(['a:1']);
    expect(tries.describe('a:1')).toBe('a:1');
  });

  it('goes to a hinted listed leader next, counting it as its try', () => {
    const tries = new LeaderTries(['a:1', 'b:2', 'c:3']);
    expect(exhaust(tries, (address) => (address === 'a:1' ? 'c:3' : undefined))).toEqual([
      'a:1',
      'c:3',
      'b:2',
    ]);
  });

  it('ends a loop of leaders naming each other after MAX_HINT_HOPS hops', () => {
    const other = (address: string): string => (address === 'a:1' ? 'x:9' : 'a:1');
    const tries = new LeaderTries(['a:1']);
    const seen = exhaust(tries, other);
    expect(seen).toEqual(['a:1', 'x:9', 'a:1']);
    expect(seen).toHaveLength(1 + MAX_HINT_HOPS);
    expect(tries.describe('a:1')).toBe('a:1 (tried a:1, x:9, a:1)');
  });

  it('still tries the rest of the list once the hops are spent', () => {
    const tries = new LeaderTries(['a:1', 'b:2']);
    const hint = (address: string): string => (address === 'x:9' ? 'y:8' : 'x:9');
    expect(exhaust(tries, hint)).toEqual(['a:1', 'x:9', 'y:8', 'b:2']);
  });
});
