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
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          return new MalformedMessage(method.path, reason.slice(0, 200));
        }
      },
    };
  }
  return wrapped as D;
}
