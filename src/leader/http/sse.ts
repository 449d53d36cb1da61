import type { FastifyReply, FastifyRequest } from 'fastify';

/** Most bytes an SSE stream may have waiting for a slow reader before it is ended. */
const MAX_SSE_BACKLOG_BYTES = 8 * 1024 * 1024;
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
    snapshot: SseEvent[];
    synced: SseEvent;
    unsubscribe: () => void;
  };
  onClose(listener: (reason: string) => void): () => void;
}

/**
 * Serves a watch as Server-Sent Events: the snapshot, `synced`, then changes, until the
 * client disconnects or the leader shuts down (a `closed` event, then the end). A reader
 * more than 8 MiB behind gets an `error` event and is cut off.
 */
export function serveSse(request: FastifyRequest, reply: FastifyReply, source: SseSource): void {
  // Errors before the stream starts (a leader shutting down) are ordinary HTTP errors.
  let ended = false;
  // The snapshot is written in one go: only what piles up after it counts as a backlog.
  let snapshotBytes: number | undefined = undefined;
  let cleanup = (): void => {};
  const raw = reply.raw;
  const write = (event: SseEvent): void => {
    raw.write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
  };
  const finish = (last?: SseEvent): void => {
    if (ended) return;
    ended = true;
    cleanup();
    if (last) write(last);
    raw.end();
  };
  const send = (event: SseEvent): void => {
    if (ended) return;
    if (snapshotBytes !== undefined && raw.writableLength > MAX_SSE_BACKLOG_BYTES + snapshotBytes) {
      finish({
        event: 'error',
        data: { error: 'watch ended: the reader fell too far behind; watch again' },
      });
      return;
    }
    write(event);
  };
  const watch = source.start(send);
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
  };
  request.raw.on('close', () => finish());
  for (const event of watch.snapshot) send(event);
  send(watch.synced);
  snapshotBytes = raw.writableLength;
}
