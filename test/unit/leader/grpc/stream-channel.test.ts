import { describe, expect, it } from 'vitest';
import type { HeartbeatResponse } from '../../../../src/gen/cluster/v1/leader.js';
import { START_MESSAGE_BYTES, StreamChannel } from '../../../../src/leader/grpc/stream-channel.js';
import type { StartOrder } from '../../../../src/scheduler/scheduler.js';

/** A heartbeat call that records what the channel writes. */
function recordingCall(): {
  written: HeartbeatResponse[];
  call: ConstructorParameters<typeof StreamChannel>[0];
} {
  const written: HeartbeatResponse[] = [];
  const call = {
    write: (message: HeartbeatResponse) => (written.push(message), true),
    emit: () => true,
  } as unknown as ConstructorParameters<typeof StreamChannel>[0];
  return { written, call };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const ack = (id: string) => ({ id, attempt: 1, accepted: true, code: 0, reason: '' });
const start = (taskId: string) =>
  ({ taskId, attempt: 1, kind: 'default', payload: 'p' }) as unknown as StartOrder;

describe('StreamChannel', () => {
  it('splits a turn of large start orders across messages, in order, each under the bound', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => false);
    // Payloads of 1,000,000 characters, estimated at 3 bytes each: one per message.
    const big = (taskId: string) =>
      ({ ...start(taskId), payload: 'x'.repeat(1_000_000) }) as unknown as StartOrder;
    for (const id of ['a', 'b', 'c']) channel.start(big(id));
    channel.start(start('small'));
    await nextTurn();
    expect(written.map((m) => m.start.map((s) => s.id))).toEqual([['a'], ['b'], ['c', 'small']]);
    for (const message of written) {
      const chars = message.start.reduce((sum, s) => sum + s.payload.length, 0);
      expect(chars * 3).toBeLessThanOrEqual(START_MESSAGE_BYTES);
    }
  });

  it('sends acks with the start orders of the same turn, in one message', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => false);
    channel.ack(ack('a'));
    channel.ack(ack('b'));
    channel.start(start('c'));
    await nextTurn();
    expect(written).toHaveLength(1);
    expect(written[0]!.acks.map((a) => a.id)).toEqual(['a', 'b']);
    expect(written[0]!.start.map((s) => s.id)).toEqual(['c']);
  });

  it('lets an ack join a message already being built', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => false);
    channel.start(start('c'));
    channel.ack(ack('a'));
    await nextTurn();
    expect(written).toHaveLength(1);
    expect(written[0]!.acks.map((a) => a.id)).toEqual(['a']);
  });

  it('sends acks alone on the next turn when no other message goes', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => false);
    channel.ack(ack('a'));
    await Promise.resolve();
    expect(written).toHaveLength(0);
    await nextTurn();
    expect(written).toEqual([
      { start: [], stop: [], recall: [], acks: [ack('a')], heardSerial: 0, outputSavedSerial: 0 },
    ]);
    // Nothing is sent twice.
    await nextTurn();
    expect(written).toHaveLength(1);
  });

  it('sends acks still waiting with its last message when it closes the stream', () => {
    const { written, call } = recordingCall();
    const emitted: unknown[] = [];
    (call as unknown as { emit: (e: string, v: unknown) => boolean }).emit = (_e, v) => (
      emitted.push(v),
      true
    );
    const channel = new StreamChannel(call, () => false);
    channel.ack(ack('a'));
    channel.close('leader stepping down');
    expect(written).toEqual([
      { start: [], stop: [], recall: [], acks: [ack('a')], heardSerial: 0, outputSavedSerial: 0 },
    ]);
    expect(emitted).toEqual([{ code: 14, details: 'leader stepping down' }]);
  });

  it('says which output is saved with its last message when it closes the stream', () => {
    const { written, call } = recordingCall();
    (call as unknown as { emit: () => boolean }).emit = () => true;
    const channel = new StreamChannel(call, () => false);
    channel.outputSaved(4);
    channel.close('leader stepping down');
    expect(written.map((m) => m.outputSavedSerial)).toEqual([4]);
  });

  it('writes nothing once the stream ended', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => true);
    channel.ack(ack('a'));
    channel.start(start('c'));
    await nextTurn();
    expect(written).toEqual([]);
  });
});

describe('StreamChannel heard serials', () => {
  it('stamps every response with the highest serial heard before it was written', async () => {
    const written: HeartbeatResponse[] = [];
    const channel = new StreamChannel(
      { write: (m: HeartbeatResponse) => (written.push(m), true), emit: () => true } as never,
      () => false,
    );
    channel.heard(3);
    channel.answer();
    channel.heard(2); // an older serial never lowers the proof
    channel.heard(5);
    await Promise.resolve();
    expect(written.map((m) => m.heardSerial)).toEqual([5]);
  });

  it('tells the worker which output is saved: with the next message, or alone on the next turn', async () => {
    const { written, call } = recordingCall();
    const channel = new StreamChannel(call, () => false);
    channel.outputSaved(3);
    channel.outputSaved(2); // an older one changes nothing
    await nextTurn();
    expect(written.map((m) => m.outputSavedSerial)).toEqual([3]);
    channel.start(start('c'));
    channel.outputSaved(5);
    await nextTurn();
    expect(written.map((m) => m.outputSavedSerial)).toEqual([3, 5]);
    await nextTurn();
    expect(written).toHaveLength(2); // nothing new to tell
  });
});
