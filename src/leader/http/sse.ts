import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WatchAdmission } from '../../shared/grpc-watch.js';
import { WATCH_PUMP_LIMITS, WatchPump, type WatchPumpLimits } from '../../shared/watch-pump.js';

/** An SSE stream's bounds: changes queued during its snapshot, and bytes waiting once live. */
const SSE_LIMITS: WatchPumpLimits = { ...WATCH_PUMP_LIMITS, maxWaiting: 2 * 1024 * 1024 };
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** One Server-Sent Event: its name and its JSON data. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

/** What {@link serveSse} needs from a watch: the same shape as the gRPC watch source. */
export interface SseSource {
  start(send: (event: SseEvent) => void): {
    /** Rendered as it is written, never all at once. */
    snapshot: Iterable<SseEvent>;
    synced: SseEvent;
    unsubscribe: () => void;
  };
  onClose(listener: (reason: string) => void): () => void;
}

/**
 * Serves a watch as Server-Sent Events: the snapshot, `synced`, then changes, until the
 * client disconnects or the leader shuts down (a `closed` event, then the end). Written
 * with backpressure (WatchPump); a reader 2 MiB behind gets an `error` event and is cut
 * off. Each stream is admitted against the leader's watch limits (429 when over).
 */
export function serveSse(
  request: FastifyRequest,
  reply: FastifyReply,
  source: SseSource,
  admission: WatchAdmission,
): void {
  // Errors before the stream starts (too many watches, a leader shutting down) are
  // ordinary HTTP errors: they throw from here, before anything is written.
  const release = admission.admit(request.ip);
  let ended = false;
  let cleanup = (): void => release();
  const raw = reply.raw;
  const format = (event: SseEvent): string =>
    `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
  const finish = (last?: SseEvent): void => {
    if (ended) return;
    ended = true;
    pump.stop();
    cleanup();
    if (last) raw.write(format(last));
    raw.end();
  };
  const pump = new WatchPump<SseEvent>(
    {
      write: (event) => raw.write(format(event)),
      onceDrained: (callback) => raw.once('drain', callback),
      waiting: () => raw.writableLength,
    },
    SSE_LIMITS,
    {
      overflow: () =>
        finish({
          event: 'error',
          data: { error: 'watch ended: the reader fell too far behind; watch again' },
        }),
      done: () => finish(),
      turns: admission.turns,
    },
  );
  let watch: ReturnType<SseSource['start']>;
  try {
    watch = source.start((event) => pump.push(event));
  } catch (err) {
    release();
    throw err;
  }
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stopClose = source.onClose((reason) => finish({ event: 'closed', data: { reason } }));
  cleanup = () => {
    clearInterval(keepalive);
    watch.unsubscribe();
    stopClose();
    release();
  };
  request.raw.on('close', () => finish());
  pump.start(watch.snapshot, watch.synced);
}
