import { authHeaders, markUnauthenticated } from './token.js';

/**
 * The watch's connection, for a banner: live, lost and retrying, or closed (the leader
 * refused it: a bad filter, a missing or weak token; no retry).
 */
export type LiveState = 'connecting' | 'live' | 'retrying' | 'closed';

/**
 * The event a batch starts with each time the stream (re)opens: what was shown may have
 * missed changes while it was down, so views reload (a watch without a snapshot) or start
 * over (a watch whose snapshot follows).
 */
export const OPENED = 'opened';

/** Longest wait between two tries to reopen a lost watch. */
const MAX_RETRY_MS = 10_000;
/** Most tries to reopen one watch (about a day at the longest wait): then reload the page. */
const MAX_TRIES = 10_000;

/**
 * Follows one of the leader's SSE watches (`/v1/...:watch`) over fetch, so the request can
 * carry the API token (EventSource cannot send headers), reopening it after it is lost
 * (1 s, then longer, at most 10 s apart). A refusal (400, 401, 403) is final. Events are
 * handed over in batches once per animation frame, so thousands of task changes a second
 * cost one render a frame, not one each.
 */
export function followWatch(
  url: string,
  events: readonly string[],
  onBatch: (batch: readonly [string, unknown][]) => void,
  onState: (state: LiveState) => void = () => {},
): () => void {
  const wanted = new Set(events);
  const stop = new AbortController();
  let batch: [string, unknown][] = [];
  let frame: number | undefined;
  const push = (event: string, data: unknown): void => {
    batch.push([event, data]);
    frame ??= requestAnimationFrame(() => {
      frame = undefined;
      const taken = batch;
      batch = [];
      onBatch(taken);
    });
  };
  const run = async (): Promise<void> => {
    for (let tries = 0; tries < MAX_TRIES && !stop.signal.aborted; tries++) {
      onState(tries === 0 ? 'connecting' : 'retrying');
      if (tries > 0) await delay(Math.min(MAX_RETRY_MS, 1000 * tries), stop.signal);
      const outcome = await readStream(url, stop.signal, (event, data) => {
        if (event === OPENED) {
          tries = 0;
          onState('live');
          push(OPENED, null);
        } else if (wanted.has(event)) push(event, data);
      });
      if (outcome === 'refused') {
        onState('closed');
        return;
      }
    }
  };
  void run();
  return () => {
    stop.abort();
    if (frame !== undefined) cancelAnimationFrame(frame);
  };
}

/**
 * Reads one SSE response to its end: `refused` when the leader answered 4xx (a bad filter,
 * a missing or weak token), `lost` when it could not be reached or the stream ended.
 */
async function readStream(
  url: string,
  signal: AbortSignal,
  onEvent: (event: string, data: unknown) => void,
): Promise<'refused' | 'lost'> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...authHeaders() },
      signal,
    });
  } catch {
    return 'lost';
  }
  if (response.status === 401) markUnauthenticated();
  if (response.status >= 400 && response.status < 500 && response.status !== 429) return 'refused';
  if (!response.ok || response.body === null) return 'lost';
  onEvent(OPENED, null);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    // Bounded by the stream: it ends when the leader closes it or `signal` aborts.
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'lost';
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (message) onEvent(message.event, message.data);
      }
    }
  } catch {
    return 'lost';
  }
}

/** One SSE message (`event:` and `data:` lines; `:` comments are keepalives). */
function parseEvent(text: string): { event: string; data: unknown } | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  try {
    return { event, data: JSON.parse(data.join('\n')) };
  } catch {
    return undefined;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Reads a streamed text response (a task's followed output) chunk by chunk until it ends
 * or `signal` aborts; resolves when the stream ends.
 */
export async function followText(
  url: string,
  signal: AbortSignal,
  onText: (text: string) => void,
): Promise<void> {
  const response = await fetch(url, { signal, headers: authHeaders() });
  if (!response.ok || response.body === null) {
    throw new Error(`output: ${response.status} ${await response.text()}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  // Bounded by the stream: the leader ends it when the task finishes.
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onText(value);
  }
}

/** One piece of a task's output as the leader keeps it (`format=ndjson`). */
export interface OutputPiece {
  readonly offset: number;
  readonly attempt: number;
  readonly stream: string;
  readonly data: string;
  readonly truncated: boolean;
}

/**
 * Reads a streamed NDJSON response (a task's followed output, one piece a line) until it
 * ends or `signal` aborts; resolves when the stream ends.
 */
export async function followPieces(
  url: string,
  signal: AbortSignal,
  onPiece: (piece: OutputPiece) => void,
): Promise<void> {
  let partial = '';
  await followText(url, signal, (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onPiece(JSON.parse(line) as OutputPiece);
  });
}

/** The watch's state in words, for the line above a list. */
export function liveText(state: LiveState): string {
  switch (state) {
    case 'live':
      return 'live';
    case 'connecting':
      return 'connecting…';
    case 'retrying':
      return 'live updates lost, reconnecting…';
    case 'closed':
      return 'live updates stopped: the leader refused this watch';
  }
}
