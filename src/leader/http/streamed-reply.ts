import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WatchAdmission } from '../../shared/grpc-watch.js';
import { WatchPump, type WatchPumpLimits } from '../../shared/watch-pump.js';

/** What a streamed reply's subscription gives back. */
export interface StreamSubscription<M> {
  /** Rendered as it is written, never all at once. */
  readonly snapshot: Iterable<M>;
  /** Written after the snapshot, if any. */
  readonly synced?: M | undefined;
  /** True when nothing more will come after the snapshot: the reply then ends. */
  readonly done?: boolean;
  unsubscribe(): void;
}

/** What {@link streamReply} writes, and where its messages come from. */
export interface StreamedReply<M> {
  /** Sent with status 200 once the subscription has succeeded. */
  readonly headers: OutgoingHttpHeaders;
  readonly limits: WatchPumpLimits;
  /** One message as the text written. */
  format(message: M): string;
  /**
   * A reader that fell too far behind: `cut` destroys the connection (no clean end);
   * `last` is written, then the reply ends normally.
   */
  readonly overflow: 'cut' | { readonly last: M };
  /**
   * Subscribes, sending changes to `pump` (`end` when there will be no more). May throw
   * (not found, leader stopping): that is an ordinary HTTP error, nothing is written yet.
   */
  subscribe(pump: Pick<WatchPump<M>, 'push' | 'end'>): StreamSubscription<M>;
  /**
   * Registers for leader shutdown, which ends the reply (after `last`, if given); returns
   * the removal.
   */
  onClose(end: (last?: M) => void): () => void;
  /** Whatever the open reply needs besides (a keepalive); returns its disposal. */
  whileOpen?(raw: ServerResponse): () => void;
}

/**
 * Streams a reply outside Fastify: admitted against the watch limits (429 when over),
 * subscribed, then hijacked and written through a WatchPump (backpressure, a bound on what
 * waits). It ends once, whichever comes first (everything sent, the client gone, leader
 * shutdown, overflow), and then releases everything it holds.
 */
export function streamReply<M>(
  request: FastifyRequest,
  reply: FastifyReply,
  admission: WatchAdmission,
  stream: StreamedReply<M>,
): void {
  // Errors before the stream starts (too many watches, a leader shutting down) are
  // ordinary HTTP errors: they throw from here, before anything is written.
  const release = admission.admit(request.ip);
  const raw = reply.raw;
  let ended = false;
  let cleanup = (): void => release();
  const end = (last?: M): void => {
    if (ended) return;
    ended = true;
    pump.stop();
    cleanup();
    if (last !== undefined) raw.write(stream.format(last));
    raw.end();
  };
  const cut = (): void => {
    if (ended) return;
    ended = true;
    cleanup();
    raw.destroy();
  };
  const pump = new WatchPump<M>(
    {
      write: (message) => raw.write(stream.format(message)),
      onceDrained: (callback) => raw.once('drain', callback),
      waiting: () => raw.writableLength,
    },
    stream.limits,
    {
      overflow: () => (stream.overflow === 'cut' ? cut() : end(stream.overflow.last)),
      done: () => end(),
      turns: admission.turns,
    },
  );
  let subscription: StreamSubscription<M>;
  try {
    subscription = stream.subscribe(pump);
  } catch (err) {
    release();
    throw err;
  }
  reply.hijack();
  raw.writeHead(200, stream.headers);
  const stopExtra = stream.whileOpen?.(raw);
  const stopClose = stream.onClose(end);
  cleanup = () => {
    stopExtra?.();
    subscription.unsubscribe();
    stopClose();
    release();
  };
  request.raw.on('close', () => end());
  pump.start(subscription.snapshot, subscription.synced);
  if (subscription.done) pump.end();
}
