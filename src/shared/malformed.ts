import type { ServiceDefinition } from '@grpc/grpc-js';
import { InvalidArgumentError } from './errors.js';

/**
 * A request whose bytes did not decode as its message type. grpc-js answers a decode
 * failure itself with INTERNAL ("Error deserializing request"), which reads as a server
 * bug; drover's deserializers return this instead, and the handlers refuse it with
 * INVALID_ARGUMENT and a message a person can act on.
 */
export class MalformedMessage {
  constructor(
    /** The method's path, e.g. /scheduler.v1.SchedulerService/GetTask. */
    readonly path: string,
    readonly reason: string,
  ) {}

  /** The refusal: the client sent bytes that are not the method's request message. */
  toError(): InvalidArgumentError {
    // ts-proto reads 64-bit integers as JavaScript numbers and throws past 2^53 - 1: the
    // message is valid protobuf, but holds a number drover cannot take exactly.
    if (this.reason.includes('MAX_SAFE_INTEGER')) {
      return new InvalidArgumentError(
        `the request to ${this.path} holds a 64-bit integer over ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest drover takes (a delay, ttl, interval, offset or request id)`,
      );
    }
    return new InvalidArgumentError(
      `the request to ${this.path} is not a valid protobuf message: ${this.reason}`,
    );
  }
}

/** Throws the refusal when a request did not decode. */
export function assertWellFormed(request: unknown): void {
  if (request instanceof MalformedMessage) throw request.toError();
}

/**
 * A service definition whose request deserializers never throw: they return a
 * MalformedMessage (see above). The handlers' request types do not say so, which is why
 * every handler entry (unary(), serveWatch, the stream handlers) checks with
 * assertWellFormed / instanceof before reading a field.
 */
export function tolerant<D extends ServiceDefinition>(definition: D): D {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        let decoded: unknown;
        try {
          decoded = method.requestDeserialize(bytes);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          return new MalformedMessage(method.path, reason.slice(0, 200));
        }
        const field = notUtf8Field(decoded, bytes);
        return field === undefined
          ? decoded
          : new MalformedMessage(method.path, `field ${field} is not valid UTF-8`);
      },
    };
  }
  return wrapped as D;
}

const REPLACEMENT = '\uFFFD';

/**
 * The protos' map fields, as ts-proto names them: decoded as plain objects whose keys are
 * strings from the wire too (checked against the .proto files by a unit test).
 */
export const MAP_FIELDS: ReadonlySet<string> = new Set(['traceContext']);
const REPLACEMENT_UTF8 = Buffer.from(REPLACEMENT, 'utf8');

/**
 * The first string field of `decoded` that held bytes which are not UTF-8, or undefined.
 * protobuf.js decodes those as U+FFFD without a word, so two different ids could become
 * one; proto3 says a string must be UTF-8, and drover refuses it as its HTTP API does. A
 * decoded U+FFFD is a replacement when the message has fewer encoded U+FFFD (EF BF BD)
 * than its strings hold. Every message is walked (a message all UTF-8 as bytes can still
 * hold a string cut mid-character, completed by the next field's bytes): ~0.3 µs a task.
 */
function notUtf8Field(decoded: unknown, bytes: Buffer): string | undefined {
  const replacements = countReplacements(decoded);
  if (replacements === 0) return undefined;
  let encoded = 0;
  for (
    let i = bytes.indexOf(REPLACEMENT_UTF8);
    i >= 0;
    i = bytes.indexOf(REPLACEMENT_UTF8, i + 3)
  ) {
    encoded++;
  }
  return encoded < replacements ? pathOfReplacement(decoded, '') : undefined;
}

/** U+FFFD characters in every string of a decoded message (the hot path: no paths built). */
function countReplacements(value: unknown): number {
  if (typeof value === 'string') {
    let n = 0;
    for (let i = value.indexOf(REPLACEMENT); i >= 0; i = value.indexOf(REPLACEMENT, i + 1)) n++;
    return n;
  }
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += countReplacements(item);
  } else if (isPlainObject(value)) {
    for (const key in value) {
      n += countReplacements(value[key]);
      if (MAP_FIELDS.has(key)) n += countReplacements(Object.keys(value[key] as object));
    }
  }
  return n;
}

/** Where the first U+FFFD is (`task.id`, `running[2].id`), for the refusal. */
function pathOfReplacement(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes(REPLACEMENT) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOfReplacement(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
  } else if (isPlainObject(value)) {
    for (const key in value) {
      const at = path === '' ? key : `${path}.${key}`;
      const found = pathOfReplacement(value[key], at);
      if (found !== undefined) return found;
      if (MAP_FIELDS.has(key) && Object.keys(value[key] as object).some(hasReplacement)) {
        return `${at} (a key)`;
      }
    }
  }
  return undefined;
}

const hasReplacement = (text: string): boolean => text.includes(REPLACEMENT);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
