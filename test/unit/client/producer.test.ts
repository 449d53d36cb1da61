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
