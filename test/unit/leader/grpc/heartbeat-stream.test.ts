import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HeartbeatRequest, type HeartbeatResponse } from '../../../../src/gen/cluster/v1/leader.js';
import { handleHeartbeatStream } from '../../../../src/leader/grpc/heartbeat-stream.js';
import type { LeaderApi } from '../../../../src/leader/leader-api.js';

/** A promise and the functions that settle it, for saves the test finishes by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: () => void } {
  let resolve!: () => void;
  let reject!: () => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * A heartbeat stream on a coordinator whose output saves the test settles: what the
 * stream writes back, and the saves in the order they were asked for.
 */
function streamWithSaves() {
  const call = Object.assign(new EventEmitter(), {
    written: [] as HeartbeatResponse[],
    write(message: HeartbeatResponse) {
      call.written.push(message);
      return true;
    },
    end() {},
  });
  const saves: ReturnType<typeof deferred>[] = [];
  const coordinator = {
    openStream: () => 1,
    heartbeat: () => {},
    closeStream: () => {},
    appendOutput: () => {
      const save = deferred();
      saves.push(save);
      return save.promise;
    },
  } as unknown as LeaderApi;
  handleHeartbeatStream(call as never, coordinator, pino({ level: 'silent' }));
  const send = (serial: number, offset: number | undefined) =>
    call.emit(
      'data',
      HeartbeatRequest.fromPartial({
        id: 'w1',
        serial,
        output: [{ id: 't1', attempt: 1, stream: 'stdout', data: 'line\n', offset }],
      }),
    );
  const savedSerials = () => call.written.map((m) => m.outputSavedSerial);
  return { call, saves, send, savedSerials };
}

/** Two event-loop turns: a save's callback runs, then the answer it queued goes out. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('heartbeat stream output acknowledgements', () => {
  it('acknowledges numbered output only once the coordinator has saved it', async () => {
    const { saves, send, savedSerials } = streamWithSaves();
    send(1, 0);
    send(2, 5);
    await settle();
    expect(saves).toHaveLength(2);
    // Heard, answered, but nothing acknowledged as saved before a save finished.
    expect(Math.max(0, ...savedSerials())).toBe(0);
    saves[0]!.resolve();
    await settle();
    expect(Math.max(...savedSerials())).toBe(1);
    saves[1]!.resolve();
    await settle();
    expect(Math.max(...savedSerials())).toBe(2);
  });

  it('never acknowledges output whose save failed, nor unnumbered output from an older worker', async () => {
    const failed = streamWithSaves();
    failed.send(1, 0);
    await settle();
    failed.saves[0]!.reject();
    await settle();
    expect(Math.max(0, ...failed.savedSerials())).toBe(0);

    const old = streamWithSaves();
    old.send(1, undefined);
    await settle();
    old.saves[0]!.resolve();
    await settle();
    expect(old.saves).toHaveLength(1);
    expect(Math.max(0, ...old.savedSerials())).toBe(0);
  });
});
