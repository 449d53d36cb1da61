import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { STOPS_LOGGED_ONE_BY_ONE, WorkChannels } from '../../../src/leader/work-channels.js';
import type { StartOrder, StopOrder } from '../../../src/scheduler/scheduler.js';
import { asMemberId, asTaskId } from '../../../src/shared/ids.js';
import { RecordingChannel } from '../../helpers/recording-channel.js';

const a = asMemberId('a');
const b = asMemberId('b');

function start(memberId = a, task = 't1'): StartOrder {
  return {
    memberId,
    taskId: asTaskId(task),
    attempt: 1,
    kind: 'default',
    payload: 'p',
    concurrencyKey: undefined,
    priority: 'medium',
  };
}

function stop(memberId = a): StopOrder {
  return { memberId, taskId: asTaskId('t1'), attempt: 1, reason: 'cancelled' };
}

const setup = () => new WorkChannels(pino({ level: 'silent' }));

describe('WorkChannels', () => {
  it('replaces an older stream with a newer one, closing the older', () => {
    const channels = setup();
    const older = new RecordingChannel();
    const newer = new RecordingChannel();
    channels.open(a, 1, older);
    channels.open(a, 2, newer);
    expect(older.closes).toEqual(['replaced by a newer heartbeat stream']);
    expect(newer.closes).toEqual([]);
    channels.sendStarts([start()]);
    channels.sendStop(stop());
    expect(older.starts).toEqual([]);
    expect(newer.starts).toEqual([start()]);
    expect(newer.stops).toEqual([stop()]);
  });

  it("sends every stop of a heartbeat's reconcile but logs only the first ones one by one", () => {
    const lines: { msg: string; count?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const channels = new WorkChannels(log);
    const current = new RecordingChannel();
    channels.open(a, 1, current);
    const stops = Array.from({ length: 1000 }, (_, i) => ({
      ...stop(),
      taskId: asTaskId(`bogus-${i}`),
    }));
    channels.sendStops(stops);
    expect(current.stops).toEqual(stops);
    expect(lines.filter((l) => l.msg === 'task stop sent')).toHaveLength(STOPS_LOGGED_ONE_BY_ONE);
    expect(lines.filter((l) => l.msg !== 'task stop sent')).toMatchObject([
      { msg: 'more task stops sent than logged one by one', count: 1000 - STOPS_LOGGED_ONE_BY_ONE },
    ]);
    lines.length = 0;
    channels.sendStops(stops.slice(0, 3));
    expect(lines.map((l) => l.msg)).toEqual(Array(3).fill('task stop sent'));
  });

  it('keeps the current stream when an older one ends (forget with a stale stream id)', () => {
    const channels = setup();
    const newer = new RecordingChannel();
    channels.open(a, 1, new RecordingChannel());
    channels.open(a, 2, newer);
    channels.forget(a, 1);
    expect(channels.sendStarts([start()])).toEqual([a]);
    expect(newer.starts).toHaveLength(1);
    expect(newer.closes).toEqual([]);
  });

  it('forgets the current stream when it ends, without closing it again', () => {
    const channels = setup();
    const current = new RecordingChannel();
    channels.open(a, 1, current);
    channels.forget(a, 1);
    expect(channels.sendStarts([start()])).toEqual([]);
    expect(current.starts).toEqual([]);
    expect(current.closes).toEqual([]);
  });

  it('skips starts to members without a channel and returns the members told', () => {
    const channels = setup();
    const bChannel = new RecordingChannel();
    channels.open(b, 1, bChannel);
    const told = channels.sendStarts([start(a, 't1'), start(b, 't2'), start(b, 't3')]);
    expect(told).toEqual([b, b]);
    expect(bChannel.starts.map((s) => s.taskId)).toEqual(['t2', 't3']);
  });

  it('closes a channel once, with the reason, and sends nothing to it after', () => {
    const channels = setup();
    const current = new RecordingChannel();
    channels.open(a, 1, current);
    channels.close(a, 'member a is dead');
    channels.close(a, 'again');
    channels.sendStop(stop());
    expect(current.closes).toEqual(['member a is dead']);
    expect(current.stops).toEqual([]);
    expect(channels.sendStarts([start()])).toEqual([]);
  });

  it('closing a member without a channel, or stopping on one, is a no-op', () => {
    const channels = setup();
    expect(() => channels.close(a, 'gone')).not.toThrow();
    expect(() => channels.sendStop(stop())).not.toThrow();
    expect(() => channels.forget(a, 1)).not.toThrow();
  });

  it('closes every channel on shutdown and forgets them', () => {
    const channels = setup();
    const [ca, cb] = [new RecordingChannel(), new RecordingChannel()];
    channels.open(a, 1, ca);
    channels.open(b, 2, cb);
    channels.closeAll('leader shutting down');
    expect([ca.closes, cb.closes]).toEqual([['leader shutting down'], ['leader shutting down']]);
    expect(channels.sendStarts([start(a), start(b)])).toEqual([]);
    channels.closeAll('twice');
    expect(ca.closes).toHaveLength(1);
  });
});
