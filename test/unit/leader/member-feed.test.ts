import { describe, expect, it } from 'vitest';
import { ClusterEvents, type MemberEvent } from '../../../src/leader/cluster-events.js';
import { MemberFeed } from '../../../src/leader/member-feed.js';
import { MembershipRegistry } from '../../../src/leader/membership/registry.js';
import type { MemberView } from '../../../src/leader/views.js';
import { asMemberId } from '../../../src/shared/ids.js';
import { ManualTimers } from '../../helpers/manual-timers.js';
import { TIMING } from './leader-parts.js';

const a = asMemberId('a');
const b = asMemberId('b');

function setup() {
  const timers = new ManualTimers();
  const events = new ClusterEvents();
  const registry = new MembershipRegistry(TIMING);
  let viewReads = 0;
  const views = (): MemberView[] => {
    viewReads++;
    return registry.list().map((member) => ({
      member,
      runningTaskIds: [],
      slotsFree: member.slots,
      slotsStopping: 0,
      heartbeatAgeMs: undefined,
    }));
  };
  const feed = new MemberFeed(events, (fn) => timers.defer(fn), views);
  const join = (id = a) =>
    registry.join(0, {
      id,
      address: '',
      instance: `${id}-1`,
      slots: 1,
      kinds: new Set(),
      session: 's',
    });
  // Views hold the live member: what each event says is read when it is sent.
  const seen: string[] = [];
  const describeEvent = (e: MemberEvent) =>
    e.kind === 'changed' ? `${e.view.member.id}:${e.view.member.state}` : `${e.id}:removed`;
  const watch = () => events.onMember((event) => seen.push(describeEvent(event)));
  const said = () => seen;
  return { timers, registry, feed, join, watch, said, viewReads: () => viewReads };
}

describe('MemberFeed', () => {
  it('collects nothing and asks for no turn while nobody watches', () => {
    const { timers, feed, join, watch, said, viewReads } = setup();
    join();
    feed.changed(a);
    expect(timers.pending).toBe(0);
    watch();
    timers.runTurn();
    expect(said()).toEqual([]);
    expect(viewReads()).toBe(0);
  });

  it('sends one event per member per turn, in the order first changed, only on the turn', () => {
    const { timers, feed, join, watch, said, viewReads } = setup();
    join(a);
    join(b);
    watch();
    for (const id of [b, a, b, b, a]) feed.changed(id);
    expect(said()).toEqual([]);
    expect(timers.pending).toBe(1);
    timers.runTurn();
    expect(said()).toEqual(['b:joining', 'a:joining']);
    expect(viewReads()).toBe(1);
    timers.runTurn();
    expect(said()).toHaveLength(2);
  });

  it('sends the member as it is at the end of the turn', () => {
    const { timers, registry, feed, join, watch, said } = setup();
    join();
    watch();
    feed.changed(a);
    registry.drain(10, a);
    timers.runTurn();
    expect(said()).toEqual(['a:draining']);
  });

  it("sends 'removed' for a member gone by flush time", () => {
    const { timers, registry, feed, join, watch, said } = setup();
    join();
    registry.leave(1, a);
    registry.sweep(1 + TIMING.retentionMs); // forgotten
    watch();
    feed.changed(a);
    timers.runTurn();
    expect(said()).toEqual(['a:removed']);
  });

  it('ignores an undefined member', () => {
    const { timers, feed, watch } = setup();
    watch();
    feed.changed(undefined);
    expect(timers.pending).toBe(0);
  });

  it('sends a member again on a later turn when it changes again', () => {
    const { timers, registry, feed, join, watch, said } = setup();
    join();
    watch();
    feed.changed(a);
    timers.runTurn();
    registry.leave(5, a);
    feed.changed(a);
    timers.runTurn();
    expect(said()).toEqual(['a:joining', 'a:left']);
  });
});
