import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { deadlineAfter } from './clock.js';

/** A generated client's unary method, bound to its client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a unary method with a deadline `timeoutMs` away; rejects with the ServiceError. */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: deadlineAfter(timeoutMs) }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}
