import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WatchAdmission } from '../../shared/grpc-watch.js';
import { WATCH_PUMP_LIMITS, type WatchPumpLimits } from '../../shared/watch-pump.js';
import { streamReply } from './streamed-reply.js';

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
  streamReply<SseEvent>(request, reply, admission, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
    limits: SSE_LIMITS,
    format: (event) => `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`,
    overflow: {
      last: {
        event: 'error',
        data: { error: 'watch ended: the reader fell too far behind; watch again' },
      },
    },
    subscribe: (pump) => source.start((event) => pump.push(event)),
    onClose: (end) => source.onClose((reason) => end({ event: 'closed', data: { reason } })),
    whileOpen: (raw) => {
      const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
      return () => clearInterval(keepalive);
    },
  });
}
