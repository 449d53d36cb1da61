import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from './grpc-status.js';

/**
 * Adapts an async function to a grpc-js unary handler. The function gets the request and
 * an AbortSignal that fires if the client cancels; whatever it throws becomes a status in
 * `toGrpcStatus`, so handlers never pick codes themselves.
 */
export function unary<Req, Res>(
  logger: Logger,
  fn: (request: Req, signal: AbortSignal) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback) => {
    const controller = new AbortController();
    call.once('cancelled', () =>
      controller.abort(new DOMException('client cancelled', 'AbortError')),
    );
    Promise.resolve()
      .then(() => fn(call.request, controller.signal))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toGrpcStatus(err, logger)),
      );
  };
}
