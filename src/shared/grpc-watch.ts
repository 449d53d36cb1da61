import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from './grpc-status.js';
import { assertWellFormed, MalformedMessage } from './malformed.js';
import { WATCH_PUMP_LIMITS, WatchPump, type WatchTurns } from './watch-pump.js';

/** What every watch shares: admission against the limits, and turns on the event loop. */
export interface WatchAdmission {
  /** Admits a watch for a client, or throws (too many); returns the release. */
  admit(client: string): () => void;
  readonly turns: Pick<WatchTurns, 'request'>;
}

/** What a watch adapter gives {@link serveWatch}: a way to start, and to hear of shutdown. */
export interface WatchSource<M> {
  /**
   * Subscribes (calling `send` for each change, `end` when there will be no more) and
   * returns the snapshot (rendered lazily, as it is written), the message that ends the
   * snapshot (if any), whether the stream ends right after the snapshot, and the
   * unsubscribe. May throw (leader stopping).
   */
  start(
    send: (message: M) => void,
    end: () => void,
  ): { snapshot: Iterable<M>; synced?: M; endAfterSnapshot?: boolean; unsubscribe: () => void };
  /** Registers a callback for leader shutdown; returns its removal. */
  onClose(listener: (reason: string) => void): () => void;
}

/** The client a call comes from, for per-client limits: its address without the port. */
export function peerHost(peer: string): string {
  const withoutScheme = peer.replace(/^ipv[46]:/, '');
  return withoutScheme.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

/**
 * Serves a server-streaming watch: snapshot, end-of-snapshot marker, then changes, until
 * the caller cancels or the leader shuts down (UNAVAILABLE). The snapshot is written with
 * backpressure (see WatchPump); a reader that falls too far behind is ended with
 * RESOURCE_EXHAUSTED rather than allowed to grow the leader's memory.
 */
export function serveWatch<Req, M>(
  call: ServerWritableStream<Req, M>,
  source: WatchSource<M>,
  logger: Logger,
  /** Read inside, so a standby's refusal (it has no watchers) goes out as a status. */
  admissionOf: () => WatchAdmission,
): void {
  let admission: WatchAdmission;
  try {
    admission = admissionOf();
  } catch (err) {
    call.emit('error', toGrpcStatus(err, logger));
    return;
  }
  let ended = false;
  let cleanup = (): void => {};
  const finish = (error?: { code: status; details: string }): void => {
    if (ended) return;
    ended = true;
    pump.stop();
    cleanup();
    if (error) call.emit('error', error);
    else call.end();
  };
  const pump = pumpTo(call, admission.turns, finish);
  let started: StartedWatch<M>;
  try {
    started = startWatch(call, source, pump, admission);
  } catch (err) {
    ended = true;
    call.emit('error', toGrpcStatus(err, logger));
    return;
  }
  const { watch, release } = started;
  const stopClose = source.onClose((reason) =>
    finish({ code: status.UNAVAILABLE, details: reason }),
  );
  cleanup = () => {
    watch.unsubscribe();
    stopClose();
    release();
  };
  call.on('cancelled', () => finish());
  call.on('error', () => finish());
  pump.start(watch.snapshot, watch.synced);
  if (watch.endAfterSnapshot) pump.end();
}

/** A pump writing to `call` with backpressure, which ends the call through `finish`. */
function pumpTo<Req, M>(
  call: ServerWritableStream<Req, M>,
  turns: WatchAdmission['turns'],
  finish: (error?: { code: status; details: string }) => void,
): WatchPump<M> {
  return new WatchPump<M>(
    {
      write: (message) => call.write(message),
      onceDrained: (callback) => call.once('drain', callback),
      waiting: () => call.writableLength,
    },
    WATCH_PUMP_LIMITS,
    {
      overflow: () =>
        finish({
          code: status.RESOURCE_EXHAUSTED,
          details: `watch ended: the reader fell more than ${WATCH_PUMP_LIMITS.maxWaiting} messages behind; watch again`,
        }),
      done: () => finish(),
      turns,
    },
  );
}

/** A watch admitted and subscribed: what it started with, and its admission's release. */
interface StartedWatch<M> {
  watch: ReturnType<WatchSource<M>['start']>;
  release: () => void;
}

/**
 * Checks the request, admits the caller and subscribes the pump to the source; throws
 * (nothing held) when any of them refuses.
 */
function startWatch<Req, M>(
  call: ServerWritableStream<Req, M>,
  source: WatchSource<M>,
  pump: WatchPump<M>,
  admission: WatchAdmission,
): StartedWatch<M> {
  assertWellFormed(call.request);
  const release = admission.admit(peerHost(call.getPeer()));
  try {
    const watch = source.start(
      (message) => pump.push(message),
      () => pump.end(),
    );
    return { watch, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * Ends a server stream whose request did not decode with INVALID_ARGUMENT; true when it
 * did (the handler must then stop). For handlers that read the request before serveWatch.
 */
export function refuseMalformed<Req, M>(
  call: ServerWritableStream<Req, M>,
  logger: Logger,
): boolean {
  if (!(call.request instanceof MalformedMessage)) return false;
  call.emit('error', toGrpcStatus(call.request.toError(), logger));
  return true;
}
