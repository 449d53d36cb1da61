import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SchedulerServiceService,
  type ScheduleTaskRequest,
} from '../../../src/gen/scheduler/v1/scheduler.js';
import { MAP_FIELDS, MalformedMessage, tolerant } from '../../../src/shared/malformed.js';

const scheduleTask = tolerant(SchedulerServiceService).scheduleTask;

/** A length-delimited protobuf field (wire type 2) holding `bytes`. */
function field(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([...varint((number << 3) | 2), ...varint(bytes.length)]),
    bytes,
  ]);
}

/** A small number as a protobuf varint. */
function varint(value: number): number[] {
  const out: number[] = [];
  for (let n = value; ; n >>>= 7) {
    if (n < 0x80) return [...out, n];
    out.push((n & 0x7f) | 0x80);
  }
}

/** A ScheduleTaskRequest's bytes, its task's id (field 1) given as raw bytes. */
function withRawId(id: Buffer, payload = 'p'): Buffer {
  return field(1, Buffer.concat([field(1, id), field(2, Buffer.from(payload))]));
}

describe('tolerant request decoding', () => {
  it('refuses a string field that is not UTF-8, naming it, instead of reading it as U+FFFD', () => {
    const decoded = scheduleTask.requestDeserialize(withRawId(Buffer.from([0x61, 0xff, 0x62])));
    expect(decoded).toBeInstanceOf(MalformedMessage);
    expect((decoded as unknown as MalformedMessage).toError().message).toBe(
      'the request to /scheduler.v1.SchedulerService/ScheduleTask is not a valid protobuf message: field task.id is not valid UTF-8',
    );
  });

  it('refuses a string cut mid-character though the next field completes it in bytes', () => {
    // id = 61 C2, then an unknown varint field 16 (80 01 00): all UTF-8 as bytes.
    const bytes = field(
      1,
      Buffer.concat([
        field(1, Buffer.from([0x61, 0xc2])),
        Buffer.from([0x80, 0x01, 0x00]),
        field(2, Buffer.from('p')),
      ]),
    );
    expect(scheduleTask.requestDeserialize(bytes)).toBeInstanceOf(MalformedMessage);
  });

  it('refuses a 64-bit integer past 2^53 - 1 saying so, not as bytes that do not decode', () => {
    // task.delay_ms (field 19, varint) = 2^60: valid protobuf, not exact as a JS number.
    const varint = (n: bigint): number[] => {
      const out: number[] = [];
      for (; n >= 0x80n; n >>= 7n) out.push(Number(n & 0x7fn) | 0x80);
      return [...out, Number(n)];
    };
    const delay = Buffer.from([...varint(19n << 3n), ...varint(1n << 60n)]);
    const decoded = scheduleTask.requestDeserialize(field(1, delay));
    expect((decoded as unknown as MalformedMessage).toError().message).toBe(
      'the request to /scheduler.v1.SchedulerService/ScheduleTask holds a 64-bit integer over 9007199254740991 (2^53 - 1), the largest drover takes (a delay, ttl, interval, offset or request id)',
    );
  });

  it('takes a real U+FFFD, and other UTF-8, as sent', () => {
    for (const id of ['a\uFFFDb', 'żółw-😀', 'plain']) {
      const decoded = scheduleTask.requestDeserialize(
        withRawId(Buffer.from(id, 'utf8'), 'x'.repeat(300)),
      );
      expect(decoded).not.toBeInstanceOf(MalformedMessage);
      expect((decoded as ScheduleTaskRequest).task?.id).toBe(id);
    }
  });
});

describe('map fields', () => {
  it('refuses a map key that is not UTF-8 (two keys must not become one)', () => {
    // task.trace_context (field 25): one entry, key "a\xff" and value "v".
    const entry = Buffer.concat([field(1, Buffer.from([0x61, 0xff])), field(2, Buffer.from('v'))]);
    const bytes = field(1, Buffer.concat([field(1, Buffer.from('id')), field(25, entry)]));
    const decoded = scheduleTask.requestDeserialize(bytes);
    expect((decoded as unknown as MalformedMessage).toError().message).toMatch(
      /field task\.traceContext \(a key\) is not valid UTF-8$/,
    );
  });

  it('knows every map field the protos declare', () => {
    const protos = [
      'scheduler/v1/scheduler.proto',
      'worker/v1/worker.proto',
      'cluster/v1/leader.proto',
    ];
    const declared = protos.flatMap((proto) =>
      [
        ...readFileSync(new URL(`../../../proto/${proto}`, import.meta.url), 'utf8').matchAll(
          /map<[^>]+>\s+(\w+)\s*=/g,
        ),
      ].map(([, name]) => name!.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())),
    );
    expect(declared.length).toBeGreaterThan(0);
    for (const name of declared) expect(MAP_FIELDS.has(name)).toBe(true);
  });
});
