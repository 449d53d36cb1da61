import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createProducer, ScheduleError, type Producer } from '../../../src/client/producer.js';
import { STEP_DOWN_ID, useFakeLeaders } from './fake-leaders.js';

const unavailable = expect.objectContaining({
  name: 'ScheduleError',
  code: status.UNAVAILABLE,
}) as unknown;

describe('producer given several leaders', () => {
  const start = useFakeLeaders();
  const producers: Producer[] = [];
  const produce = (leader: string | readonly string[]): Producer => {
    const producer = createProducer({ leader });
    producers.push(producer);
    return producer;
  };
  afterEach(async () => {
    await Promise.all(producers.splice(0).map((p) => p.close()));
  });

  it('fails a schedule a standby refused, and sends the retry to the leader it named', async () => {
    const active = await start('active');
    const standby = await start('standby', active.address);
    const producer = produce(standby.address);
    const refused = producer.schedule({ id: 'a', payload: 'p' });
    await expect(refused).rejects.toBeInstanceOf(ScheduleError);
    await expect(refused).rejects.toEqual(unavailable);
    await expect(producer.schedule({ id: 'a', payload: 'p' })).resolves.toBe('a');
    expect(standby.calls).toEqual(['scheduleTaskStream']);
    expect(active.calls).toEqual(['scheduleTaskStream']);
  });

  it('moves to the next listed leader when a refusal names none (array or comma list)', async () => {
    const standby = await start('standby');
    const active = await start('active');
    for (const leader of [
      [standby.address, active.address],
      `${standby.address},${active.address}`,
    ]) {
      const producer = produce(leader);
      await expect(producer.schedule({ id: 'b', payload: 'p' })).rejects.toEqual(unavailable);
      await expect(producer.schedule({ id: 'b', payload: 'p' })).resolves.toBe('b');
    }
    expect(standby.count('scheduleTaskStream')).toBe(2);
    expect(active.count('scheduleTaskStream')).toBe(2);
  });

  it('fails what a stepping-down leader left unanswered, then opens on the new one', async () => {
    const next = await start('active');
    const old = await start('active');
    old.stepDownTo = next.address;
    const producer = produce([old.address]);
    await expect(producer.schedule({ id: 'c1', payload: 'p' })).resolves.toBe('c1');
    const lost = [
      producer.schedule({ id: STEP_DOWN_ID, payload: 'p' }),
      producer.schedule({ id: 'c2', payload: 'p' }),
    ];
    for (const schedule of lost) await expect(schedule).rejects.toEqual(unavailable);
    await expect(producer.schedule({ id: 'c2', payload: 'p' })).resolves.toBe('c2');
    expect(old.count('scheduleTaskStream')).toBe(1);
    expect(next.count('scheduleTaskStream')).toBe(1);
  });

  it('keeps one leader alone as before: each retry opens a stream to it again', async () => {
    const standby = await start('standby');
    const producer = produce(standby.address);
    await expect(producer.schedule({ id: 'd', payload: 'p' })).rejects.toEqual(unavailable);
    await expect(producer.schedule({ id: 'd', payload: 'p' })).rejects.toEqual(unavailable);
    expect(standby.count('scheduleTaskStream')).toBe(2);
  });
});

describe('producer batching a turn into one stream message', () => {
  const start = useFakeLeaders();
  const producers: Producer[] = [];
  afterEach(async () => {
    await Promise.all(producers.splice(0).map((p) => p.close()));
  });
  const burst = (producer: Producer, prefix: string, count: number): Promise<string[]> =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        producer.schedule({ id: `${prefix}${i}`, payload: 'p' }),
      ),
    );

  it('sends one message per task until the leader says it takes batches, then one per turn', async () => {
    const leader = await start('active');
    leader.announceBatches = true;
    const producer = createProducer({ leader: leader.address });
    producers.push(producer);
    // Asked before the stream's headers came: one message each, as to any leader.
    expect(await burst(producer, 'a', 3)).toEqual(['a0', 'a1', 'a2']);
    expect(leader.scheduleMessages).toEqual([1, 1, 1]);
    // The header has come: a turn's 2,500 schedules go in 1,000-task messages, in order.
    const ids = await burst(producer, 'b', 2_500);
    expect(ids).toEqual(Array.from({ length: 2_500 }, (_, i) => `b${i}`));
    expect(leader.scheduleMessages).toEqual([1, 1, 1, 1_000, 1_000, 500]);
  });

  it('sends one message per task to a leader that does not say it takes batches', async () => {
    const leader = await start('active');
    const producer = createProducer({ leader: leader.address });
    producers.push(producer);
    await burst(producer, 'a', 3);
    await burst(producer, 'b', 20);
    expect(leader.scheduleMessages).toEqual(Array.from({ length: 23 }, () => 1));
  });

  it('keeps a message under 1 MiB: big payloads split a turn into several messages', async () => {
    const leader = await start('active');
    leader.announceBatches = true;
    const producer = createProducer({ leader: leader.address });
    producers.push(producer);
    await burst(producer, 'warm', 1);
    // 100,000 characters estimate as 300,000 bytes: three fit in a message.
    const big = 'x'.repeat(100_000);
    await Promise.all(
      Array.from({ length: 7 }, (_, i) => producer.schedule({ id: `big${i}`, payload: big })),
    );
    expect(leader.scheduleMessages).toEqual([1, 3, 3, 1]);
  });

  it('sends what a turn queued before close, and answers it', async () => {
    const leader = await start('active');
    leader.announceBatches = true;
    const producer = createProducer({ leader: leader.address });
    await burst(producer, 'warm', 1);
    const last = burst(producer, 'c', 5);
    await producer.close();
    expect(await last).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(leader.scheduleMessages).toEqual([1, 5]);
  });
});

describe('createProducer options', () => {
  it.each([0, -1, 1.5, Number.NaN, 2 ** 31])('refuses answerTimeoutMs %s by name', (ms) => {
    expect(() => createProducer({ leader: '127.0.0.1:1', answerTimeoutMs: ms })).toThrow(
      `answerTimeoutMs must be an integer from 1 to 2147483647, got ${ms}`,
    );
  });
});
