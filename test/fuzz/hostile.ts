import fc from 'fast-check';

// Arbitraries for hostile input: what an attacker or a broken client sends. Each value is
// tagged with the kind of hostility, so a run can say what it tried, by kind.

/** A value and the kind of input it is. */
export interface Tagged<T> {
  readonly kind: string;
  readonly value: T;
}

const tag =
  <T>(kind: string) =>
  (value: T): Tagged<T> => ({ kind, value });

/** Strings a decoder, a store or a log line could trip on. */
export const hostileString: fc.Arbitrary<Tagged<string>> = fc.oneof(
  fc.string({ maxLength: 20 }).map(tag('short string')),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(tag('unicode')),
  fc
    .array(fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', 'a', '\ud83d\ude00'), {
      minLength: 1,
      maxLength: 6,
    })
    .map((parts) => parts.join(''))
    .map(tag('lone surrogates')),
  fc
    .array(
      fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
      {
        minLength: 1,
        maxLength: 8,
      },
    )
    .map((chars) => `id${chars.join('')}`)
    .map(tag('control characters')),
  fc
    .constantFrom(
      '',
      ' ',
      '\u0000',
      '\ufffd',
      '\u202e',
      'a/b',
      '../../etc/passwd',
      '%2F',
      ':cancel',
      '__proto__',
      'constructor',
      'TASK_STATUS_',
      '-1',
    )
    .map(tag('edge string')),
  fc
    .integer({ min: 250, max: 300 })
    .map((n) => 'i'.repeat(n))
    .map(tag('id-length boundary')),
  fc
    .constantFrom(5_000, 70_000, 300_000, 2_000_000)
    .map((n) => 'x'.repeat(n))
    .map(tag('huge string')),
);

/** Numbers at and past every boundary a field may have. */
export const hostileNumber: fc.Arbitrary<Tagged<number>> = fc.oneof(
  fc
    .constantFrom(
      0,
      -1,
      1,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53,
      -(2 ** 53),
      1e308,
      0.5,
      -0.0,
    )
    .map(tag('boundary number')),
  fc.integer().map(tag('integer')),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(tag('double')),
);

/** A JSON value of any shape, often the wrong one for the field it lands in. */
export const hostileJsonValue: fc.Arbitrary<Tagged<unknown>> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(true, false, null).map(tag('literal')),
  fc.jsonValue({ maxDepth: 3 }).map(tag('random JSON')),
  fc.integer({ min: 50, max: 3_000 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { a: v };
    return tag('deep nesting')(v);
  }),
  fc.constantFrom('TASK_PRIORITY_NOPE', 'TASK_STATUS_NOPE', 99, -5).map(tag('unknown enum')),
);

const taskFieldNames = [
  'id',
  'payload',
  'priority',
  'kind',
  'targetMemberId',
  'target_member_id',
  'maxAttempts',
  'max_attempts',
  'retryBackoffMs',
  'timeoutMs',
  'status',
  '__proto__',
  'nope',
];

/** An object whose fields are task fields (and others) with hostile values. */
export const hostileObject: fc.Arbitrary<Tagged<Record<string, unknown>>> = fc
  .array(fc.tuple(fc.constantFrom(...taskFieldNames), hostileJsonValue), { maxLength: 6 })
  .map((fields) => {
    const object: Record<string, unknown> = {};
    for (const [name, value] of fields) {
      Object.defineProperty(object, name, {
        value: value.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
    const kinds = fields.map(([, value]) => value.kind);
    return {
      kind:
        kinds.length === 0 ? 'empty object' : `object of ${[...new Set(kinds)].sort().join(', ')}`,
      value: object,
    };
  });

/** A request body as bytes: JSON (valid, hostile or truncated), or not JSON at all. */
export const hostileBody: fc.Arbitrary<Tagged<Uint8Array>> = fc.oneof(
  hostileObject.map((o) => ({ kind: o.kind, value: Buffer.from(JSON.stringify(o.value)) })),
  fc.record({ payload: hostileString, id: fc.option(hostileString) }).map(({ payload, id }) => ({
    kind: `task with ${payload.kind} payload${id ? `, ${id.kind} id` : ''}`,
    value: Buffer.from(
      JSON.stringify(id ? { id: id.value, payload: payload.value } : { payload: payload.value }),
    ),
  })),
  hostileObject.chain((o) => {
    const text = JSON.stringify(o.value);
    return fc
      .integer({ min: 0, max: Math.max(0, text.length - 1) })
      .map((cut) => ({ kind: 'truncated JSON', value: Buffer.from(text.slice(0, cut)) }));
  }),
  fc.uint8Array({ maxLength: 300 }).map(tag('random bytes')),
  fc
    .constantFrom(
      '{"payload":"\\ud800"}',
      '{"payload":"a","payload":"b"}',
      '{"payload":1e999}',
      '[]',
      'null',
      '"x"',
      '{"payload":"a"}{"payload":"b"}',
    )
    .map((text) => ({ kind: 'edge JSON', value: Buffer.from(text) })),
  fc.constant({
    kind: 'invalid UTF-8',
    value: Uint8Array.from([
      0x7b, 0x22, 0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22,
      0x7d,
    ]),
  }),
);

/** Bytes for a protobuf request: random, or a real message cut short. */
export const hostileProtobuf: fc.Arbitrary<Tagged<Uint8Array>> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map(tag('random protobuf bytes')),
  fc
    .constantFrom(
      [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // a length far past the end
      [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // an 11-byte varint
      [0x0a, 0x03, 0xed, 0xa0, 0x80], // a string holding an encoded lone surrogate
      [0x0a, 0x02, 0xc3, 0x28], // invalid UTF-8 in a string
      [0x7a, 0x00], // an unknown field
      [0x0f], // a group with no end
    )
    .map((bytes) => ({ kind: 'edge protobuf', value: Uint8Array.from(bytes) })),
);
