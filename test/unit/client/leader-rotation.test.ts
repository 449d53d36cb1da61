import { describe, expect, it } from 'vitest';
import {
  FollowedConnection,
  LeaderRotation,
  leaderList,
  usableHint,
} from '../../../src/client/leader-rotation.js';

describe('leaderList', () => {
  it('takes an array or a comma list, trimmed, without empty entries', () => {
    expect(leaderList('a:1')).toEqual(['a:1']);
    expect(leaderList(' a:1, b:2 ,')).toEqual(['a:1', 'b:2']);
    expect(leaderList(['a:1', ' b:2'])).toEqual(['a:1', 'b:2']);
  });
});

describe('usableHint', () => {
  it('keeps a host:port naming another leader, in canonical form', () => {
    expect(usableHint('a:1', 'b:2')).toBe('b:2');
    expect(usableHint('a:1', '::1:2')).toBeUndefined(); // not host:port
    expect(usableHint('a:1', '[::1]:2')).toBe('[::1]:2');
  });

  it('drops no hint, a malformed one, and one naming the refusing leader itself', () => {
    expect(usableHint('a:1', undefined)).toBeUndefined();
    expect(usableHint('a:1', 'not an address')).toBeUndefined();
    expect(usableHint('a:1', 'a:99999')).toBeUndefined();
    expect(usableHint('127.0.0.1:1', ':1')).toBeUndefined(); // itself, written otherwise
  });
});

describe('LeaderRotation', () => {
  it('goes round the list, one leader alone included', () => {
    const rotation = new LeaderRotation(['a:1', 'b:2']);
    expect([rotation.take(), rotation.take(), rotation.take()]).toEqual(['a:1', 'b:2', 'a:1']);
    const single = new LeaderRotation(['a:1']);
    expect([single.take(), single.take()]).toEqual(['a:1', 'a:1']);
    expect(() => new LeaderRotation([])).toThrow(RangeError);
  });

  it('tries an unlisted hinted leader once, then resumes the list where it was', () => {
    const rotation = new LeaderRotation(['a:1', 'b:2', 'c:3']);
    expect(rotation.take()).toBe('a:1');
    expect(rotation.follow('a:1', 'x:9')).toBe('x:9');
    expect([rotation.take(), rotation.take(), rotation.take()]).toEqual(['x:9', 'b:2', 'c:3']);
  });

  it('goes on after a listed hinted leader, not back to the one just tried', () => {
    const rotation = new LeaderRotation(['a:1', 'b:2', 'c:3']);
    rotation.take();
    expect(rotation.follow('a:1', 'c:3')).toBe('c:3');
    expect([rotation.take(), rotation.take(), rotation.take()]).toEqual(['c:3', 'a:1', 'b:2']);
  });

  it('ignores an unusable hint', () => {
    const rotation = new LeaderRotation(['a:1', 'b:2']);
    rotation.take();
    expect(rotation.follow('a:1', 'a:1')).toBeUndefined();
    expect(rotation.take()).toBe('b:2');
  });
});

describe('FollowedConnection', () => {
  it('moves to the hinted leader, closing the old connection; a stale move and one leader change nothing', () => {
    const opened: { address: string; closed: boolean }[] = [];
    const open = (address: string) => {
      const connection = { address, closed: false, close: () => (connection.closed = true) };
      opened.push(connection);
      return connection;
    };
    const leaders = new FollowedConnection(['a:1', 'b:1', 'c:1'], open);
    expect(leaders.address).toBe('a:1');
    leaders.move('c:1');
    expect([leaders.address, leaders.current.address, opened[0]!.closed]).toEqual([
      'c:1',
      'c:1',
      true,
    ]);
    leaders.move(undefined, 'a:1'); // a waiter that watched on a:1 moves too late
    expect(leaders.address).toBe('c:1');
    leaders.move(undefined); // no hint: the next listed after c
    expect(leaders.address).toBe('a:1');

    const one = new FollowedConnection(['a:1'], open);
    const before = one.current;
    one.move(undefined);
    expect([one.current, before.closed]).toEqual([before, false]);
  });
});
