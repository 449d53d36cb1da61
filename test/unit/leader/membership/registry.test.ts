import { describe, expect, it } from 'vitest';
import { MembershipRegistry, type JoinSpec } from '../../../../src/leader/membership/registry.js';
import { ConflictError, NotFoundError, StaleError } from '../../../../src/shared/errors.js';
import type { MemberId } from '../../../../src/shared/ids.js';
import { FakeClock } from '../../../helpers/fake-clock.js';

const TIMING = { suspectAfterMs: 2000, deadAfterMs: 3000, retentionMs: 60_000 };
const spec = (id: string, instance = 'i1'): JoinSpec => ({
  id: id as MemberId,
  address: '',
  instance,
  slots: 2,
  kinds: new Set(['default']),
});
const beat = { status: 'idle', draining: false } as const;

function alive(id = 'w') {
  const clock = new FakeClock();
  const registry = new MembershipRegistry(TIMING);
  registry.join(clock.nowMs(), spec(id));
  const stream = registry.attachStream(id as MemberId);
  registry.heartbeat(clock.nowMs(), id as MemberId, stream, beat);
  return { clock, registry, stream, id: id as MemberId };
}

describe('MembershipRegistry', () => {
  it('joins, then turns alive on the first heartbeat', () => {
    const clock = new FakeClock();
    const registry = new MembershipRegistry(TIMING);
    const { transition } = registry.join(clock.nowMs(), spec('w'));
    expect(transition).toMatchObject({ from: undefined, to: 'joining' });
    const stream = registry.attachStream('w' as MemberId);
    expect(registry.heartbeat(clock.nowMs(), 'w' as MemberId, stream, beat)).toMatchObject({
      from: 'joining',
      to: 'alive',
    });
    expect(registry.heartbeat(clock.nowMs(), 'w' as MemberId, stream, beat)).toBeUndefined();
  });

  it('a heartbeat exactly at the timeout, handled before the sweep, keeps the member alive', () => {
    const { clock, registry, stream, id } = alive();
    clock.advance(TIMING.deadAfterMs);
    registry.heartbeat(clock.nowMs(), id, stream, beat);
    expect(registry.sweep(clock.nowMs())).toEqual([]);
    expect(registry.get(id)?.state).toBe('alive');
  });

  it('is suspect after suspectAfterMs, alive again on a heartbeat, dead at exactly deadAfterMs', () => {
    const { clock, registry, stream, id } = alive();
    clock.advance(TIMING.suspectAfterMs - 1);
    expect(registry.sweep(clock.nowMs())).toEqual([]);
    clock.advance(1);
    expect(registry.sweep(clock.nowMs())).toMatchObject([{ from: 'alive', to: 'suspect' }]);
    expect(registry.heartbeat(clock.nowMs(), id, stream, beat)).toMatchObject({
      from: 'suspect',
      to: 'alive',
    });
    clock.advance(TIMING.deadAfterMs - 1);
    expect(registry.sweep(clock.nowMs()).map((t) => t.to)).toEqual(['suspect']);
    clock.advance(1);
    expect(registry.sweep(clock.nowMs())).toMatchObject([
      { from: 'suspect', to: 'dead', reason: `no heartbeat for ${TIMING.deadAfterMs} ms` },
    ]);
    // Its stream no longer speaks for it.
    expect(() => registry.heartbeat(clock.nowMs(), id, stream, beat)).toThrow(StaleError);
  });

  it('a member that never heartbeats is dead after the timeout from its Join', () => {
    const clock = new FakeClock();
    const registry = new MembershipRegistry(TIMING);
    registry.join(clock.nowMs(), spec('quiet'));
    clock.advance(TIMING.deadAfterMs);
    expect(registry.sweep(clock.nowMs())).toMatchObject([{ from: 'joining', to: 'dead' }]);
  });

  it('marks draining from the heartbeat flag', () => {
    const { clock, registry, stream, id } = alive();
    expect(
      registry.heartbeat(clock.nowMs(), id, stream, { status: 'busy', draining: true }),
    ).toMatchObject({
      to: 'draining',
    });
    expect(
      registry.heartbeat(clock.nowMs(), id, stream, { status: 'busy', draining: true }),
    ).toBeUndefined();
  });

  it('lets the same process rejoin while alive, but not another process with the same id', () => {
    const { clock, registry, id } = alive();
    expect(() => registry.join(clock.nowMs(), spec(id, 'other'))).toThrow(ConflictError);
    expect(registry.get(id)?.state).toBe('alive');
    expect(registry.join(clock.nowMs(), spec(id, 'i1')).transition).toMatchObject({
      from: 'alive',
      to: 'joining',
    });
  });

  it('admits another process once the old one is dead', () => {
    const { clock, registry, id } = alive();
    clock.advance(TIMING.deadAfterMs);
    registry.sweep(clock.nowMs());
    expect(registry.join(clock.nowMs(), spec(id, 'new')).transition).toMatchObject({
      from: 'dead',
      to: 'joining',
    });
  });

  it('a closed current stream makes the member dead; a superseded stream is ignored', () => {
    const { clock, registry, stream, id } = alive();
    const newer = registry.attachStream(id);
    expect(registry.detachStream(clock.nowMs(), id, stream, 'old closed')).toBeUndefined();
    expect(registry.get(id)?.state).toBe('alive');
    expect(registry.detachStream(clock.nowMs(), id, newer, 'closed')).toMatchObject({
      to: 'dead',
      reason: 'closed',
    });
  });

  it('refuses streams and leaves for unknown members, and a second leave', () => {
    const { clock, registry, id } = alive();
    expect(() => registry.attachStream('ghost' as MemberId)).toThrow(NotFoundError);
    expect(() => registry.leave(clock.nowMs(), 'ghost' as MemberId)).toThrow(NotFoundError);
    expect(registry.leave(clock.nowMs(), id)).toMatchObject({ from: 'alive', to: 'left' });
    expect(() => registry.leave(clock.nowMs(), id)).toThrow(StaleError);
    expect(() => registry.attachStream(id)).toThrow(StaleError);
  });

  it('forgets dead and left members after the retention, never live ones', () => {
    const { clock, registry, id } = alive('gone');
    registry.join(clock.nowMs(), spec('stays'));
    registry.leave(clock.nowMs(), id);
    clock.advance(TIMING.retentionMs - 1);
    registry.heartbeat(
      clock.nowMs(),
      'stays' as MemberId,
      registry.attachStream('stays' as MemberId),
      beat,
    );
    registry.sweep(clock.nowMs());
    expect(registry.list().map((m) => m.id)).toEqual(['gone', 'stays']);
    clock.advance(1);
    registry.sweep(clock.nowMs());
    expect(registry.list().map((m) => m.id)).toEqual(['stays']);
    expect(registry.liveCount).toBe(1);
  });
});
