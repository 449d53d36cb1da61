import { describe, expect, it } from 'vitest';
import { WatchPump, WatchTurns, type WatchSink } from '../../../src/shared/watch-pump.js';

/** A transport that takes `room` messages, then wants a drain; the test drains it. */
class FakeSink implements WatchSink<string> {
  readonly written: string[] = [];
  private drained: (() => void)[] = [];
  buffered = 0;
  constructor(private room: number) {}
  write(message: string): boolean {
    this.written.push(message);
    this.buffered++;
    return this.buffered < this.room;
  }
  onceDrained(callback: () => void): void {
    this.drained.push(callback);
  }
  waiting(): number {
    return this.buffered;
  }
  /** The reader read everything. */
  drain(): void {
    this.buffered = 0;
    for (const callback of this.drained.splice(0)) callback();
  }
}

/** Turns the test runs by hand. */
class ManualTurns {
  readonly pending: (() => void)[] = [];
  request(work: () => void): void {
    this.pending.push(work);
  }
  runOne(): void {
    this.pending.shift()?.();
  }
  /** Runs until nothing is pending (bounded). */
  runAll(): void {
    for (let i = 0; i < 1_000 && this.pending.length > 0; i++) this.runOne();
  }
}

function setup(room: number, limits = { maxQueued: 3, maxWaiting: 5, perTurn: 100 }) {
  const sink = new FakeSink(room);
  const turns = new ManualTurns();
  const ends: string[] = [];
  const pump = new WatchPump(sink, limits, {
    overflow: () => ends.push('overflow'),
    done: () => ends.push('done'),
    turns,
  });
  const drain = (): void => {
    sink.drain();
    turns.runAll();
  };
  return { sink, pump, ends, turns, drain };
}

/** A snapshot that counts how far it has been rendered. */
function counted(n: number): { items: Iterable<string>; rendered: () => number } {
  let rendered = 0;
  return {
    items: (function* () {
      for (let i = 0; i < n; i++) {
        rendered++;
        yield `s${i}`;
      }
    })(),
    rendered: () => rendered,
  };
}

describe('WatchPump', () => {
  it('renders the snapshot only as fast as the reader drains it', () => {
    const { sink, pump, turns, drain } = setup(2);
    const snapshot = counted(10_000);
    pump.start(snapshot.items, 'synced');
    expect(sink.written).toEqual([]); // nothing until its turn
    turns.runAll();
    // A reader that never reads costs two rendered messages, not ten thousand.
    expect(snapshot.rendered()).toBe(2);
    expect(sink.written).toEqual(['s0', 's1']);
    drain();
    expect(sink.written).toEqual(['s0', 's1', 's2', 's3']);
  });

  it('sends changes that come during the snapshot after the marker, in order', () => {
    const { sink, pump, turns, drain } = setup(2);
    pump.start(['s0', 's1', 's2'], 'synced');
    turns.runAll();
    pump.push('c1');
    pump.push('c2');
    for (let i = 0; i < 5; i++) drain();
    pump.push('c3');
    expect(sink.written).toEqual(['s0', 's1', 's2', 'synced', 'c1', 'c2', 'c3']);
  });

  it('ends a reader whose queue fills during the snapshot, and writes nothing more', () => {
    const { sink, pump, ends, turns, drain } = setup(1);
    pump.start(['s0', 's1'], 'synced');
    turns.runAll();
    for (const c of ['c1', 'c2', 'c3']) pump.push(c);
    expect(ends).toEqual([]);
    pump.push('c4'); // the fourth queued change: over maxQueued (3)
    expect(ends).toEqual(['overflow']);
    drain();
    expect(sink.written).toEqual(['s0']);
  });

  it('ends a live reader once more than maxWaiting waits in the transport', () => {
    const { sink, pump, ends, turns } = setup(100);
    pump.start([], undefined);
    turns.runAll();
    for (let i = 0; i <= 5; i++) pump.push(`c${i}`);
    expect(ends).toEqual([]);
    pump.push('one too many');
    expect(ends).toEqual(['overflow']);
    expect(sink.written).toHaveLength(6);
  });

  it('gives up its turn every perTurn messages', () => {
    const { sink, pump, turns } = setup(1_000, { maxQueued: 10, maxWaiting: 10, perTurn: 2 });
    pump.start(['a', 'b', 'c', 'd', 'e'], undefined);
    turns.runOne();
    expect(sink.written).toEqual(['a', 'b']);
    turns.runOne();
    expect(sink.written).toEqual(['a', 'b', 'c', 'd']);
    turns.runOne();
    expect(sink.written).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('ends after the queue is flushed when told no more will come', () => {
    const { sink, pump, ends, turns, drain } = setup(1);
    pump.start(['s0'], undefined);
    turns.runAll();
    pump.push('last');
    pump.end();
    expect(ends).toEqual([]);
    drain();
    expect(sink.written).toEqual(['s0', 'last']);
    expect(ends).toEqual(['done']);
  });
});

describe('WatchTurns', () => {
  it('runs queued work in order until the time budget is spent, then yields the turn', () => {
    let now = 0;
    const deferred: (() => void)[] = [];
    const turns = new WatchTurns({
      defer: (fn) => deferred.push(fn),
      nowMs: () => now,
      budgetMs: 4,
    });
    const ran: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      turns.request(() => {
        ran.push(name);
        now += 3; // each piece of work takes 3 ms
      });
    }
    expect(deferred).toHaveLength(1); // one deferred run for all of them
    deferred.shift()!();
    expect(ran).toEqual(['a', 'b']); // 6 ms >= the 4 ms budget: the turn ends
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(deferred).toHaveLength(0);
  });

  it('runs work queued during a turn on the next turn, not in the same one', () => {
    const deferred: (() => void)[] = [];
    const turns = new WatchTurns({ defer: (fn) => deferred.push(fn), nowMs: () => 0, budgetMs: 4 });
    const ran: number[] = [];
    const again = (n: number): void => {
      ran.push(n);
      if (n < 3) turns.request(() => again(n + 1));
    };
    turns.request(() => again(1));
    deferred.shift()!();
    expect(ran).toEqual([1]);
    deferred.shift()!();
    deferred.shift()!();
    expect(ran).toEqual([1, 2, 3]);
  });
});
