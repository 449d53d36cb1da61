import type { handleUnaryCall, Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from './grpc-status.js';
import { assertWellFormed } from './malformed.js';

/** What a unary handler gets besides its request. */
export interface UnaryContext {
  /** Fires if the client cancels the call (made when first read). */
  readonly signal: AbortSignal;
  /** The call's metadata (headers), as the client sent it. */
  readonly metadata: Metadata;
}

/**
 * Adapts a function to a grpc-js unary handler. The function gets the request and a
 * context whose signal fires if the client cancels; whatever it throws (or its promise
 * rejects with) becomes a status in `toGrpcStatus`, so handlers never pick codes themselves.
 *
 * The signal's AbortController and its 'cancelled' listener are made only when a handler
 * reads the signal: none of today's handlers does, and building them per call was a
 * measurable share of a ScheduleTask call's CPU.
 */
export function unary<Req, Res>(
  logger: Logger,
  fn: (request: Req, context: UnaryContext) => Promise<Res> | Res,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback) => {
    const cancel = new CallCancel(call);
    const fail = (err: unknown): void => {
      cancel.done();
      callback(toGrpcStatus(err, logger));
    };
    let answer: Promise<Res> | Res;
    try {
      assertWellFormed(call.request);
      answer = fn(call.request, cancel);
    } catch (err) {
      fail(err);
      return;
    }
    Promise.resolve(answer).then((response) => {
      cancel.done();
      callback(null, response);
    }, fail);
  };
}

/** A call's cancel signal, made on first use; listens only while the handler runs. */
class CallCancel implements UnaryContext {
  private controller: AbortController | undefined;
  private onCancelled: (() => void) | undefined;
  private answered = false;

  constructor(private readonly call: ServerUnaryCall<unknown, unknown>) {}

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      const abort = (): void =>
        controller.abort(new DOMException('client cancelled', 'AbortError'));
      if (this.call.cancelled) {
        abort();
      } else if (!this.answered) {
        // grpc-js emits 'cancelled' when a call's stream closes, also after a normal
        // answer: listen only while the handler runs (done() removes it), so a finished
        // call does not build an abort reason for nobody.
        this.onCancelled = abort;
        this.call.once('cancelled', abort);
      }
    }
    return this.controller.signal;
  }

  /** The call is answered: stop listening (a signal asked for later never fires). */
  done(): void {
    this.answered = true;
    if (this.onCancelled) this.call.removeListener('cancelled', this.onCancelled);
    this.onCancelled = undefined;
  }
}
