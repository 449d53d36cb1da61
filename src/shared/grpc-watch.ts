import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from './grpc-status.js';

/** Most messages a watch may have waiting for a slow reader before it is ended. */
export const MAX_WATCH_BACKLOG = 10_000;

/** What a watch adapter gives {@link serveWatch}: a way to start, and to hear of shutdown. */
export interface WatchSource<M> {
  /**
   * Subscribes (calling `send` for each change, `end` when there will be no more) and
   * returns the snapshot messages, the message that ends the snapshot (if any), whether the
   * stream ends right after the snapshot, and the unsubscribe. May throw (leader stopping).
   */
  start(
    send: (message: M) => void,
    end: () => void,
  ): { snapshot: M[]; synced?: M; endAfterSnapshot?: boolean; unsubscribe: () => void };
  /** Registers a callback for leader shutdown; returns its removal. */
  onClose(listener: (reason: string) => void): () => void;
}

/**
 * Serves a server-streaming watch: snapshot, end-of-snapshot marker, then changes, until
 * the caller cancels or the leader shuts down (UNAVAILABLE). A reader that lets more than
 * {@link MAX_WATCH_BACKLOG} messages pile up is ended with RESOURCE_EXHAUSTED rather than
 * allowed to grow the leader's memory without bound.
 */
export function serveWatch<Req, M>(
  call: ServerWritableStream<Req, M>,
  source: WatchSource<M>,
  logger: Logger,
): void {
  let ended = false;
  // The snapshot goes out in one synchronous loop, before any of it can drain: only what
  // piles up after it counts against the backlog.
  let snapshotSent = false;
  let cleanup = (): void => {};
  const finish = (error?: { code: status; details: string }): void => {
    if (ended) return;
    ended = true;
    cleanup();
    if (error) call.emit('error', error);
    else call.end();
  };
  const send = (message: M): void => {
    if (ended) return;
    if (snapshotSent && call.writableLength > MAX_WATCH_BACKLOG + snapshotSize) {
      finish({
        code: status.RESOURCE_EXHAUSTED,
        details: `watch ended: the reader fell more than ${MAX_WATCH_BACKLOG} messages behind; watch again`,
      });
      return;
    }
    call.write(message);
  };
  let watch: ReturnType<WatchSource<M>['start']>;
  try {
    watch = source.start(send, () => finish());
  } catch (err) {
    ended = true;
    call.emit('error', toGrpcStatus(err, logger));
    return;
  }
  const stopClose = source.onClose((reason) =>
    finish({ code: status.UNAVAILABLE, details: reason }),
  );
  cleanup = () => {
    watch.unsubscribe();
    stopClose();
  };
  call.on('cancelled', () => finish());
  call.on('error', () => finish());
  const snapshotSize = watch.snapshot.length + 1;
  for (const message of watch.snapshot) send(message);
  if (watch.synced !== undefined) send(watch.synced);
  snapshotSent = true;
  if (watch.endAfterSnapshot) finish();
}
