import { describe, expect, it } from 'vitest';
import {
  MembershipRegistry,
  memberTakesWork,
  type HeartbeatReport,
  type JoinSpec,
} from '../../../../src/leader/membership/registry.js';
import type { MemberState } from '../../../../src/leader/membership/state.js';
import {
  ConflictError,
  DeniedError,
  InvalidArgumentError,
  NotFoundError,
  StaleError,
} from '../../../../src/shared/errors.js';
import type { MemberId } from '../../../../src/shared/ids.js';
import { FakeClock } from '../../../helpers/fake-clock.js';

const TIMING = {
  suspectAfterMs: 2000,
  deadAfterMs: 3000,
  retentionMs: 60_000,
  quarantineAfterFailures: 3,
  quarantineMs: 10_000,
};
const spec = (id: string, instance = 'i1'): JoinSpec => ({
  id: id as MemberId,
  address: '',
  instance,
  slots: 2,
  kinds: new Set(['default']),
  session: `session-of-${instance}`,
});
const beat = { status: 'idle', draining: false } as const;

function alive(id = 'w') {
  const clock = new FakeClock();
  const registry = new MembershipRegistry(TIMING);
  registry.join(clock.nowMs(), spec(id));
  const stream = registry.attachStream(id as MemberId, registry.get(id as MemberId)?.session ?? '');
  registry.heartbeat(clock.nowMs(), id as MemberId, stream, beat);
  return { clock, registry, stream, id: id as MemberId };
}

describe('MembershipRegistry', () => {
  it('opens a stream only with the session its process joined with', () => {
    const clock = new FakeClock();
    const registry = new MembershipRegistry(TIMING);
    const { member } = registry.join(clock.nowMs(), spec('w'));
    expect(member.session).toBe('session-of-i1');
    // Anyone else is refused before anything changes: no stream, no heartbeat.
    expect(() => registry.attachStream('w' as MemberId, '')).toThrow(DeniedError);
    expect(() => registry.attachStream('w' as MemberId, 'guess')).toThrow(DeniedError);
    expect(registry.get('w' as MemberId)?.streamId).toBeUndefined();
    // A retried Join of the same process keeps its session; another process gets its own.
    registry.join(clock.nowMs(), { ...spec('w'), session: 'ignored' });
    expect(registry.get('w' as MemberId)?.session).toBe('session-of-i1');
    expect(registry.attachStream('w' as MemberId, 'session-of-i1')).toBeGreaterThan(0);
    registry.leave(clock.nowMs(), 'w' as MemberId);
    registry.join(clock.nowMs(), spec('w', 'i2'));
    expect(() => registry.attachStream('w' as MemberId, 'session-of-i1')).toThrow(DeniedError);
  });

  it('joins, then turns alive on the first heartbeat', () => {
    const clock = new FakeClock();
    const registry = new MembershipRegistry(TIMING);
    const { transition } = registry.join(clock.nowMs(), spec('w'));
    expect(transition).toMatchObject({ from: undefined, to: 'joining' });
    const stream = registry.attachStream(
      'w' as MemberId,
      registry.get('w' as MemberId)?.session ?? '',
    );
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
    expect(registry.sweep(clock.nowMs()).transitions).toEqual([]);
    expect(registry.get(id)?.state).toBe('alive');
  });

  it('is suspect after suspectAfterMs, alive again on a heartbeat, dead at exactly deadAfterMs', () => {
    const { clock, registry, stream, id } = alive();
    clock.advance(TIMING.suspectAfterMs - 1);
    expect(registry.sweep(clock.nowMs()).transitions).toEqual([]);
    clock.advance(1);
    expect(registry.sweep(clock.nowMs()).transitions).toMatchObject([
      { from: 'alive', to: 'suspect' },
    ]);
    expect(registry.heartbeat(clock.nowMs(), id, stream, beat)).toMatchObject({
      from: 'suspect',
      to: 'alive',
    });
    clock.advance(TIMING.deadAfterMs - 1);
    expect(registry.sweep(clock.nowMs()).transitions.map((t) => t.to)).toEqual(['suspect']);
    clock.advance(1);
    expect(registry.sweep(clock.nowMs()).transitions).toMatchObject([
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
    expect(registry.sweep(clock.nowMs()).transitions).toMatchObject([
      { from: 'joining', to: 'dead' },
    ]);
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

  it("undrains an operator's drain, does nothing for a member not drained, refuses a worker draining itself", () => {
    const { clock, registry, stream, id } = alive();
    expect(registry.undrain(clock.nowMs(), id)).toBeUndefined(); // not drained: nothing
    registry.drain(clock.nowMs(), id);
    expect(registry.undrain(clock.nowMs(), id)).toEqual({
      memberId: id,
      from: 'draining',
      to: 'alive',
      reason: 'undrained by an operator',
    });
    // A heartbeat no longer puts it back to draining.
    expect(registry.heartbeat(clock.nowMs(), id, stream, beat)).toBeUndefined();
    expect(registry.get(id)?.state).toBe('alive');
    // Its own SIGTERM drain: it is leaving, and an operator cannot keep it.
    registry.heartbeat(clock.nowMs(), id, stream, { status: 'busy', draining: true });
    expect(() => registry.undrain(clock.nowMs(), id)).toThrow(StaleError);
    expect(() => registry.undrain(clock.nowMs(), 'ghost' as MemberId)).toThrow(NotFoundError);
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
    const newer = registry.attachStream(id, registry.get(id)?.session ?? '');
    expect(registry.detachStream(clock.nowMs(), id, stream, 'old closed')).toBeUndefined();
    expect(registry.get(id)?.state).toBe('alive');
    expect(registry.detachStream(clock.nowMs(), id, newer, 'closed')).toMatchObject({
      to: 'dead',
      reason: 'closed',
    });
  });

  it('refuses streams and leaves for unknown members, and a second leave', () => {
    const { clock, registry, id } = alive();
    expect(() =>
      registry.attachStream('ghost' as MemberId, registry.get('ghost' as MemberId)?.session ?? ''),
    ).toThrow(NotFoundError);
    expect(() => registry.leave(clock.nowMs(), 'ghost' as MemberId)).toThrow(NotFoundError);
    expect(registry.leave(clock.nowMs(), id)).toMatchObject({ from: 'alive', to: 'left' });
    expect(() => registry.leave(clock.nowMs(), id)).toThrow(StaleError);
    expect(() => registry.attachStream(id, registry.get(id)?.session ?? '')).toThrow(StaleError);
  });

  it('lets a member leave with its session, and refuses another session, changing nothing', () => {
    const { clock, registry, id } = alive();
    const session = registry.get(id)!.session;
    expect(() => registry.leave(clock.nowMs(), id, 'someone-else')).toThrow(DeniedError);
    expect(registry.get(id)?.state).toBe('alive');
    expect(registry.leave(clock.nowMs(), id, session)).toMatchObject({ to: 'left' });
  });

  it('forgets dead and left members after the retention, never live ones', () => {
    const { clock, registry, id } = alive('gone');
    registry.join(clock.nowMs(), spec('stays'));
    registry.leave(clock.nowMs(), id);
    clock.advance(TIMING.retentionMs - 1);
    registry.heartbeat(
      clock.nowMs(),
      'stays' as MemberId,
      registry.attachStream('stays' as MemberId, registry.get('stays' as MemberId)?.session ?? ''),
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

/** A registry and clock, with shorthands that always pass the clock's time. */
function cluster() {
  const clock = new FakeClock();
  const registry = new MembershipRegistry(TIMING);
  const id = (name: string) => name as MemberId;
  const join = (name: string, instance = 'i1') =>
    registry.join(clock.nowMs(), spec(name, instance));
  const attach = (name: string) =>
    registry.attachStream(id(name), registry.get(id(name))?.session ?? '');
  const heartbeat = (name: string, stream: number, report: HeartbeatReport = beat) =>
    registry.heartbeat(clock.nowMs(), id(name), stream, report);
  const sweep = () => registry.sweep(clock.nowMs()).transitions;
  const state = (name: string) => registry.get(id(name))?.state;
  /** Joins `name` and walks it into `target`; returns its current stream (if any). */
  const reach = (name: string, target: MemberState): number | undefined => {
    join(name);
    if (target === 'joining') return undefined;
    const stream = attach(name);
    if (target === 'draining') {
      heartbeat(name, stream, { status: 'busy', draining: true });
      return stream;
    }
    heartbeat(name, stream);
    if (target === 'suspect') {
      clock.advance(TIMING.suspectAfterMs);
      sweep();
    } else if (target === 'dead') {
      registry.detachStream(clock.nowMs(), id(name), stream, 'closed');
    } else if (target === 'left') {
      registry.leave(clock.nowMs(), id(name));
    }
    expect(state(name)).toBe(target);
    return stream;
  };
  return { clock, registry, id, join, attach, heartbeat, sweep, state, reach };
}

describe('MembershipRegistry.join, in detail', () => {
  it('refuses an empty member id', () => {
    const { join, registry } = cluster();
    expect(() => join('')).toThrow(InvalidArgumentError);
    expect(registry.list()).toEqual([]);
  });

  it('records a new member as joining, with no stream and no heartbeat yet', () => {
    const { clock, join } = cluster();
    const { member, transition } = join('w');
    expect(member).toEqual({
      id: 'w',
      address: '',
      instance: 'i1',
      session: 'session-of-i1',
      slots: 2,
      kinds: new Set(['default']),
      allowedCommands: new Set(),
      timedStarts: false,
      beganNotices: false,
      lossFenceMs: 0,
      resumed: false,
      state: 'joining',
      stateSinceMs: clock.nowMs(),
      stateReason: 'joined',
      quarantine: undefined,
      consecutiveFailures: 0,
      drainRequested: false,
      drainingItself: false,
      joinedAtMs: clock.nowMs(),
      lastHeartbeatAtMs: undefined,
      reportedStatus: 'unspecified',
      streamId: undefined,
    });
    expect(transition).toEqual({ memberId: 'w', from: undefined, to: 'joining', reason: 'joined' });
  });

  it.each(['joining', 'alive', 'suspect', 'draining'] as const)(
    'lets the same process rejoin while %s, and refuses another process without changing anything',
    (from) => {
      const { clock, registry, id, join, reach } = cluster();
      reach('w', from);
      const before = structuredClone(registry.get(id('w')));
      clock.advance(10);
      expect(() => join('w', 'intruder')).toThrow(
        new ConflictError(`member w is already ${from} (another worker process uses this id)`),
      );
      expect(registry.get(id('w'))).toEqual(before);
      const { member, transition } = registry.join(clock.nowMs(), {
        ...spec('w'),
        address: 'new:1',
        slots: 5,
        kinds: new Set(['image']),
      });
      expect(transition).toEqual({ memberId: 'w', from, to: 'joining', reason: 'rejoined' });
      expect(member).toMatchObject({
        state: 'joining',
        address: 'new:1',
        slots: 5,
        kinds: new Set(['image']),
        stateSinceMs: clock.nowMs(),
        joinedAtMs: clock.nowMs(),
        lastHeartbeatAtMs: undefined,
        streamId: undefined,
      });
    },
  );

  it.each(['dead', 'left'] as const)('admits another process once the member is %s', (from) => {
    const { join, reach } = cluster();
    reach('w', from);
    const { member, transition } = join('w', 'new-process');
    expect(transition).toMatchObject({ from, to: 'joining' });
    expect(member.instance).toBe('new-process');
  });

  it('a rejoin supersedes the old stream', () => {
    const { join, attach, heartbeat, state, clock, registry, id } = cluster();
    join('w');
    const old = attach('w');
    heartbeat('w', old);
    join('w');
    expect(() => heartbeat('w', old)).toThrow(StaleError);
    // The old stream closing later does not kill the rejoined member.
    expect(registry.detachStream(clock.nowMs(), id('w'), old, 'old closed')).toBeUndefined();
    expect(state('w')).toBe('joining');
    const fresh = attach('w');
    expect(heartbeat('w', fresh)).toMatchObject({ from: 'joining', to: 'alive' });
  });

  it('restarts the silence timer on a rejoin', () => {
    const { clock, join, sweep, state } = cluster();
    join('w');
    clock.advance(TIMING.deadAfterMs - 1);
    join('w');
    clock.advance(TIMING.deadAfterMs - 1);
    expect(sweep()).toEqual([]);
    expect(state('w')).toBe('joining');
    clock.advance(1);
    expect(sweep()).toMatchObject([{ from: 'joining', to: 'dead' }]);
  });
});

describe('MembershipRegistry streams and heartbeats, in detail', () => {
  it('refuses a heartbeat on a superseded stream, and changes nothing', () => {
    const { clock, registry, id, join, attach, heartbeat } = cluster();
    join('w');
    const first = attach('w');
    heartbeat('w', first);
    const second = attach('w');
    expect(second).toBeGreaterThan(first);
    const before = structuredClone(registry.get(id('w')));
    clock.advance(500);
    expect(() => heartbeat('w', first, { status: 'failed', draining: true })).toThrow(
      new StaleError('heartbeat stream of member w is no longer current; join again'),
    );
    expect(registry.get(id('w'))).toEqual(before);
    expect(heartbeat('w', second)).toBeUndefined();
    expect(registry.get(id('w'))?.lastHeartbeatAtMs).toBe(clock.nowMs());
  });

  it('refuses heartbeats for an unknown member, a made-up stream, or a member that left', () => {
    const { clock, registry, id, join, attach, heartbeat } = cluster();
    expect(() => heartbeat('ghost', 1)).toThrow(StaleError);
    join('w');
    const stream = attach('w');
    expect(() => heartbeat('w', stream + 1)).toThrow(StaleError);
    registry.leave(clock.nowMs(), id('w'));
    expect(() => heartbeat('w', stream)).toThrow(StaleError);
  });

  it('gives every stream a new id, across members', () => {
    const { join, attach } = cluster();
    join('a');
    join('b');
    const ids = [attach('a'), attach('b'), attach('a'), attach('b')];
    expect(new Set(ids).size).toBe(4);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it('refuses a stream for a dead member until it joins again', () => {
    const { join, attach, reach } = cluster();
    reach('w', 'dead');
    expect(() => attach('w')).toThrow(new StaleError('member w is dead; call Join again'));
    join('w');
    expect(attach('w')).toBeGreaterThan(0);
  });

  it('keeps the reported status and time of the last heartbeat', () => {
    const { clock, registry, id, join, attach, heartbeat } = cluster();
    join('w');
    const stream = attach('w');
    clock.advance(100);
    heartbeat('w', stream, { status: 'busy', draining: false });
    expect(registry.get(id('w'))).toMatchObject({
      reportedStatus: 'busy',
      lastHeartbeatAtMs: clock.nowMs(),
      state: 'alive',
    });
    clock.advance(100);
    heartbeat('w', stream, { status: 'idle', draining: false });
    expect(registry.get(id('w'))).toMatchObject({
      reportedStatus: 'idle',
      lastHeartbeatAtMs: clock.nowMs(),
      stateSinceMs: clock.nowMs() - 100,
    });
  });

  it.each(['joining', 'alive', 'suspect'] as const)(
    'goes draining from %s on the draining flag, and stays draining',
    (from) => {
      const { attach, heartbeat, state, reach } = cluster();
      reach('w', from);
      const stream = attach('w');
      expect(heartbeat('w', stream, { status: 'busy', draining: true })).toMatchObject({
        from,
        to: 'draining',
        reason: 'worker is draining',
      });
      expect(heartbeat('w', stream, { status: 'idle', draining: false })).toBeUndefined();
      expect(state('w')).toBe('draining');
    },
  );

  it('a closed current stream kills the member once; later closes change nothing', () => {
    const { clock, registry, id, join, attach, heartbeat, state } = cluster();
    join('w');
    const stream = attach('w');
    heartbeat('w', stream);
    clock.advance(5);
    expect(registry.detachStream(clock.nowMs(), id('w'), stream, 'connection reset')).toEqual({
      memberId: 'w',
      from: 'alive',
      to: 'dead',
      reason: 'connection reset',
    });
    expect(registry.get(id('w'))).toMatchObject({
      streamId: undefined,
      stateSinceMs: clock.nowMs(),
    });
    expect(registry.detachStream(clock.nowMs(), id('w'), stream, 'again')).toBeUndefined();
    expect(registry.detachStream(clock.nowMs(), id('ghost'), stream, 'x')).toBeUndefined();
    expect(state('w')).toBe('dead');
  });

  it('a closed stream kills a joining, suspect or draining member too', () => {
    for (const from of ['joining', 'suspect', 'draining'] as const) {
      const { clock, registry, id, attach, reach } = cluster();
      const stream = reach('w', from) ?? attach('w');
      expect(registry.detachStream(clock.nowMs(), id('w'), stream, 'gone')).toMatchObject({
        from,
        to: 'dead',
      });
    }
  });

  it('lets a dead member say goodbye, and no one leave twice', () => {
    const { clock, registry, id, reach } = cluster();
    reach('w', 'dead');
    clock.advance(1);
    expect(registry.leave(clock.nowMs(), id('w'))).toEqual({
      memberId: 'w',
      from: 'dead',
      to: 'left',
      reason: 'left the cluster',
    });
    expect(() => registry.leave(clock.nowMs(), id('w'))).toThrow(
      new StaleError('member w has already left'),
    );
  });

  it('a stream closing after Leave does not resurrect or re-kill the member', () => {
    const { clock, registry, id, reach } = cluster();
    const stream = reach('w', 'left')!;
    expect(registry.detachStream(clock.nowMs(), id('w'), stream, 'closed')).toBeUndefined();
    expect(registry.get(id('w'))?.state).toBe('left');
  });
});

describe('MembershipRegistry.sweep, in detail', () => {
  it('a heartbeat at exactly the dead timeout keeps the member only if handled before the sweep', () => {
    const before = cluster();
    const s1 = before.reach('w', 'alive')!;
    before.clock.advance(TIMING.deadAfterMs);
    before.heartbeat('w', s1);
    expect(before.sweep()).toEqual([]);
    expect(before.state('w')).toBe('alive');

    const after = cluster();
    const s2 = after.reach('w', 'alive')!;
    after.clock.advance(TIMING.deadAfterMs);
    expect(after.sweep()).toEqual([
      {
        memberId: 'w',
        from: 'alive',
        to: 'dead',
        reason: `no heartbeat for ${TIMING.deadAfterMs} ms`,
      },
    ]);
    expect(() => after.heartbeat('w', s2)).toThrow(StaleError);
    expect(after.state('w')).toBe('dead');
  });

  it('at deadAfterMs - 1 a silent member is suspect, not dead; at deadAfterMs it is dead', () => {
    const { clock, sweep, state, reach } = cluster();
    reach('w', 'alive');
    clock.advance(TIMING.deadAfterMs - 1);
    expect(sweep()).toMatchObject([{ from: 'alive', to: 'suspect' }]);
    clock.advance(1);
    expect(sweep()).toMatchObject([{ from: 'suspect', to: 'dead' }]);
    expect(state('w')).toBe('dead');
  });

  it('goes straight from alive to dead if no sweep ran in between', () => {
    const { clock, sweep, reach } = cluster();
    reach('w', 'alive');
    clock.advance(TIMING.deadAfterMs + 10_000);
    expect(sweep()).toMatchObject([
      { from: 'alive', to: 'dead', reason: `no heartbeat for ${TIMING.deadAfterMs + 10_000} ms` },
    ]);
  });

  it('reports suspect once, however many sweeps see the silence', () => {
    const { clock, sweep, state, reach } = cluster();
    reach('w', 'alive');
    clock.advance(TIMING.suspectAfterMs);
    expect(sweep()).toHaveLength(1);
    for (let ms = TIMING.suspectAfterMs; ms + 100 < TIMING.deadAfterMs; ms += 100) {
      clock.advance(100);
      expect(sweep()).toEqual([]);
      expect(state('w')).toBe('suspect');
    }
  });

  it('back to alive on a heartbeat, and the silence counts again from that heartbeat', () => {
    const { clock, sweep, heartbeat, reach } = cluster();
    const stream = reach('w', 'alive')!;
    clock.advance(TIMING.suspectAfterMs + 500);
    expect(sweep()).toMatchObject([{ to: 'suspect' }]);
    expect(heartbeat('w', stream)).toMatchObject({
      from: 'suspect',
      to: 'alive',
      reason: 'heartbeat resumed',
    });
    clock.advance(TIMING.suspectAfterMs - 1);
    expect(sweep()).toEqual([]);
    clock.advance(1);
    expect(sweep()).toMatchObject([{ from: 'alive', to: 'suspect' }]);
  });

  it('never makes a joining or draining member suspect, only dead', () => {
    for (const from of ['joining', 'draining'] as const) {
      const { clock, sweep, state, reach } = cluster();
      reach('w', from);
      clock.advance(TIMING.deadAfterMs - 1);
      expect(sweep()).toEqual([]);
      expect(state('w')).toBe(from);
      clock.advance(1);
      expect(sweep()).toMatchObject([{ from, to: 'dead' }]);
    }
  });

  it('keeps a draining member that still heartbeats', () => {
    const { clock, sweep, heartbeat, state, reach } = cluster();
    const stream = reach('w', 'draining')!;
    for (let i = 0; i < 10; i++) {
      clock.advance(TIMING.deadAfterMs - 1);
      heartbeat('w', stream, { status: 'busy', draining: true });
      expect(sweep()).toEqual([]);
    }
    expect(state('w')).toBe('draining');
  });

  it('judges each member by its own silence', () => {
    const { clock, sweep, heartbeat, reach } = cluster();
    const a = reach('a', 'alive')!;
    reach('b', 'alive');
    clock.advance(TIMING.suspectAfterMs);
    heartbeat('a', a);
    expect(sweep()).toEqual([
      { memberId: 'b', from: 'alive', to: 'suspect', reason: expect.any(String) },
    ]);
    clock.advance(TIMING.deadAfterMs - TIMING.suspectAfterMs);
    expect(sweep()).toMatchObject([{ memberId: 'b', to: 'dead' }]);
    clock.advance(TIMING.suspectAfterMs - (TIMING.deadAfterMs - TIMING.suspectAfterMs));
    expect(sweep()).toMatchObject([{ memberId: 'a', to: 'suspect' }]);
  });

  it('forgets a dead member exactly retentionMs after it died, and a rejoin keeps it', () => {
    const { clock, registry, id, join, sweep, reach } = cluster();
    reach('dead-one', 'alive');
    reach('back', 'alive');
    clock.advance(TIMING.deadAfterMs);
    expect(sweep().map((t) => t.to)).toEqual(['dead', 'dead']);
    clock.advance(TIMING.retentionMs - 1);
    join('back');
    expect(sweep().map((t) => [t.memberId, t.to])).toEqual([]);
    expect(registry.list().map((m) => m.id)).toEqual(['back', 'dead-one']);
    clock.advance(1);
    expect(sweep()).toEqual([]);
    expect(registry.get(id('dead-one'))).toBeUndefined();
    expect(registry.list().map((m) => m.id)).toEqual(['back']);
    // A forgotten member that comes back is new again.
    expect(join('dead-one').transition).toMatchObject({ from: undefined, to: 'joining' });
  });

  it('counts retention from the last state change (a dead member that later leaves)', () => {
    const { clock, registry, id, sweep, reach } = cluster();
    reach('w', 'dead');
    clock.advance(TIMING.retentionMs - 1);
    registry.leave(clock.nowMs(), id('w'));
    clock.advance(TIMING.retentionMs - 1);
    sweep();
    expect(registry.get(id('w'))?.state).toBe('left');
    clock.advance(1);
    sweep();
    expect(registry.get(id('w'))).toBeUndefined();
  });

  it('counts live members and lists everyone by id', () => {
    const { registry, reach } = cluster();
    reach('e', 'left');
    reach('c', 'suspect');
    reach('a', 'joining');
    reach('d', 'dead');
    reach('b', 'draining');
    reach('f', 'alive');
    expect(registry.list().map((m) => [m.id, m.state])).toEqual([
      ['a', 'joining'],
      ['b', 'draining'],
      ['c', 'suspect'],
      ['d', 'dead'],
      ['e', 'left'],
      ['f', 'alive'],
    ]);
    expect(registry.liveCount).toBe(4);
  });
});

describe('MembershipRegistry quarantine and drain', () => {
  it('quarantines a member after enough failures in a row, and lifts it after the quarantine', () => {
    const { clock, registry, id, reach } = cluster();
    reach('w', 'alive');
    reach('v', 'alive'); // a second member: one of two may be held
    const w = id('w');
    for (let i = 1; i < TIMING.quarantineAfterFailures; i++) {
      expect(registry.recordOutcome(clock.nowMs(), w, true)).toBeUndefined();
    }
    expect(memberTakesWork(registry.get(w)!)).toBe(true);
    const change = registry.recordOutcome(clock.nowMs(), w, true);
    expect(change).toEqual({
      memberId: 'w',
      quarantined: true,
      reason: `${TIMING.quarantineAfterFailures} attempts in a row failed on it`,
    });
    expect(registry.get(w)).toMatchObject({
      state: 'alive',
      quarantine: { untilMs: clock.nowMs() + TIMING.quarantineMs },
    });
    expect(memberTakesWork(registry.get(w)!)).toBe(false);
    // Heartbeats keep it alive but do not lift the quarantine early.
    const stream = registry.get(w)!.streamId!;
    for (let waitedMs = 0; waitedMs < TIMING.quarantineMs - 1; waitedMs += 1000) {
      clock.advance(Math.min(1000, TIMING.quarantineMs - 1 - waitedMs));
      registry.heartbeat(clock.nowMs(), w, stream, beat);
      registry.heartbeat(clock.nowMs(), id('v'), registry.get(id('v'))!.streamId!, beat);
      expect(registry.sweep(clock.nowMs())).toEqual({
        transitions: [],
        quarantines: [],
        forgotten: [],
      });
    }
    clock.advance(1);
    expect(registry.sweep(clock.nowMs()).quarantines).toMatchObject([
      { memberId: 'w', quarantined: false },
    ]);
    expect(memberTakesWork(registry.get(w)!)).toBe(true);
  });

  it('never holds half the alive members for failures: a sole worker, or a second of two, stays', () => {
    const { clock, registry, id, reach } = cluster();
    const failStreak = (name: string) => {
      for (let i = 1; i < TIMING.quarantineAfterFailures; i++) {
        registry.recordOutcome(clock.nowMs(), id(name), true);
      }
      return registry.recordOutcome(clock.nowMs(), id(name), true);
    };
    reach('w', 'alive');
    // Alone, it is never held: holding it would stop all work, whoever's tasks fail.
    expect(failStreak('w')).toBeUndefined();
    expect(memberTakesWork(registry.get(id('w'))!)).toBe(true);
    // Of two, the first to fail enough is held, and the second is not.
    reach('v', 'alive');
    expect(failStreak('w')).toMatchObject({ memberId: 'w', quarantined: true });
    expect(failStreak('v')).toBeUndefined();
    expect(memberTakesWork(registry.get(id('v'))!)).toBe(true);
    // Of four, two may be held: never more than half.
    reach('x', 'alive');
    reach('y', 'alive');
    expect(failStreak('v')).toMatchObject({ memberId: 'v', quarantined: true });
    expect(failStreak('x')).toBeUndefined();
    // Once a hold has run out it no longer counts.
    clock.advance(TIMING.quarantineMs);
    expect(failStreak('x')).toMatchObject({ memberId: 'x', quarantined: true });
  });

  it('a success in between resets the failure streak', () => {
    const { clock, registry, id, reach } = cluster();
    reach('w', 'alive');
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i < TIMING.quarantineAfterFailures; i++) {
        registry.recordOutcome(clock.nowMs(), id('w'), true);
      }
      expect(registry.recordOutcome(clock.nowMs(), id('w'), false)).toBeUndefined();
    }
    expect(registry.get(id('w'))).toMatchObject({ quarantine: undefined, consecutiveFailures: 0 });
  });

  it('quarantines a worker while it reports FAILED, for the quarantine length after the last such heartbeat', () => {
    const { clock, registry, id, reach } = cluster();
    const stream = reach('w', 'alive')!;
    registry.heartbeat(clock.nowMs(), id('w'), stream, {
      status: 'failed',
      statusReason: 'disk full',
      draining: false,
    });
    expect(registry.get(id('w'))!.quarantine).toEqual({
      untilMs: clock.nowMs() + TIMING.quarantineMs,
      reason: 'worker reports FAILED: disk full',
    });
    // Each FAILED heartbeat renews it; healthy ones let it run out.
    const beatFor = (ms: number, report: HeartbeatReport) => {
      for (let waitedMs = 0; waitedMs < ms; waitedMs += 1000) {
        clock.advance(Math.min(1000, ms - waitedMs));
        registry.heartbeat(clock.nowMs(), id('w'), stream, report);
        if (waitedMs + 1000 < ms) expect(registry.sweep(clock.nowMs()).quarantines).toEqual([]);
      }
    };
    beatFor(TIMING.quarantineMs * 2, { status: 'failed', draining: false });
    beatFor(TIMING.quarantineMs - 1, beat);
    expect(registry.sweep(clock.nowMs()).quarantines).toEqual([]);
    beatFor(1, beat);
    expect(registry.sweep(clock.nowMs()).quarantines).toHaveLength(1);
    expect(memberTakesWork(registry.get(id('w'))!)).toBe(true);
  });

  it('drains on an operator request and stays draining across a reconnect of the same process', () => {
    const { clock, registry, id, reach, join, attach, heartbeat } = cluster();
    reach('w', 'alive');
    expect(registry.drain(clock.nowMs(), id('w'))).toMatchObject({
      from: 'alive',
      to: 'draining',
      reason: 'drained by an operator',
    });
    expect(registry.drain(clock.nowMs(), id('w'))).toBeUndefined();
    // The same process reconnects: still draining, whatever its heartbeats say.
    join('w');
    expect(heartbeat('w', attach('w'))).toMatchObject({ to: 'draining' });
    // A new process under the id starts clean.
    registry.detachStream(clock.nowMs(), id('w'), registry.get(id('w'))!.streamId!, 'gone');
    join('w', 'i2');
    expect(heartbeat('w', attach('w'))).toMatchObject({ to: 'alive' });
  });

  it('refuses to drain an unknown or dead member, changing nothing', () => {
    const { clock, registry, id, reach } = cluster();
    expect(() => registry.drain(clock.nowMs(), id('nobody'))).toThrow(NotFoundError);
    reach('gone', 'dead');
    const before = structuredClone(registry.get(id('gone')));
    expect(() => registry.drain(clock.nowMs(), id('gone'))).toThrow(
      new StaleError('member gone is dead; only a live member can be drained'),
    );
    expect(registry.get(id('gone'))).toEqual(before);
  });
});
