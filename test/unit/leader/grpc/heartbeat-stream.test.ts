import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  HeartbeatRequest,
  type DeepPartial,
  type HeartbeatResponse,
} from '../../../../src/gen/cluster/v1/leader.js';
import { handleHeartbeatStream } from '../../../../src/leader/grpc/heartbeat-stream.js';
import {
  finishedFromWire,
  MAX_REPORT_TEXT_CHARS,
} from '../../../../src/leader/grpc/member-wire.js';
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
  const calls = { heartbeats: 0, reports: 0 };
  const coordinator = {
    openStream: () => 1,
    heartbeat: () => void calls.heartbeats++,
    completeTask: () => (calls.reports++, Promise.resolve()),
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
  const errors: { code: number; details: string }[] = [];
  call.on('error', (e: { code: number; details: string }) => errors.push(e));
  return { call, saves, send, savedSerials, calls, errors };
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

type BeatFields = DeepPartial<HeartbeatRequest>;

describe('heartbeat stream bounds', () => {
  it('takes a long list, as a worker of many slots and timed starts sends it', () => {
    const { call, calls, errors } = streamWithSaves();
    call.emit(
      'data',
      beat({ running: Array.from({ length: 70_000 }, (_, i) => ({ id: `t${i}`, attempt: 1 })) }),
    );
    expect(errors).toEqual([]);
    expect(calls.heartbeats).toBe(1);
  });

  const beat = (fields: BeatFields) =>
    HeartbeatRequest.fromPartial({ id: 'w1', serial: 1, ...fields });

  it('refuses a message naming an id no task can have, before any of it acts', () => {
    const cases: [BeatFields, RegExp][] = [
      [
        { running: [{ id: 'x'.repeat(1_000_000), attempt: 1 }] },
        /running task id "x+.*1000000 characters; the most is 256/,
      ],
      [
        {
          finished: [
            { id: 'ok', attempt: 1 },
            { id: 'x'.repeat(300), attempt: 1 },
          ],
        },
        /finished task id .* 300 characters/,
      ],
    ];
    for (const [fields, message] of cases) {
      const { call, calls, errors } = streamWithSaves();
      call.emit('data', beat(fields));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe(3); // INVALID_ARGUMENT
      expect(errors[0]!.details).toMatch(message);
      expect(calls).toEqual({ heartbeats: 0, reports: 0 });
    }
  });

  it("cuts a report's result and error over 1 Mi characters, with a marker, rather than refuse it", () => {
    const report = finishedFromWire(
      {
        id: 't',
        attempt: 1,
        result: 'r'.repeat(3_000_000),
        error: 'e'.repeat(10),
        permanent: false,
        notStarted: false,
        began: false,
      } as never,
      'w1' as never,
    );
    expect(report.result!.length).toBeLessThan(MAX_REPORT_TEXT_CHARS + 100);
    expect(
      report.result!.endsWith(`… [cut at ${MAX_REPORT_TEXT_CHARS} of 3000000 characters]`),
    ).toBe(true);
    expect(report.error).toBe('e'.repeat(10));
  });
});
