/** What a watch's listener gets: the SSE event's name and its parsed JSON data. */
export type LiveHandler = (event: string, data: unknown) => void;

/**
 * The watch's connection, for a banner: live, lost and retrying (the browser reconnects by
 * itself), or closed (the leader refused it, e.g. a bad filter: no retry).
 */
export type LiveState = 'connecting' | 'live' | 'retrying' | 'closed';

/**
 * The event a batch starts with each time the stream (re)opens: what was shown may have
 * missed changes while it was down, so views reload (a watch without a snapshot) or start
 * over (a watch whose snapshot follows).
 */
export const OPENED = 'opened';

/**
 * Follows one of the leader's SSE watches (`/v1/...:watch`) with the browser's EventSource,
 * which reconnects by itself. Events are handed over in batches once per animation frame,
 * so thousands of task changes a second cost one render a frame, not one each.
 */
export function followWatch(
  url: string,
  events: readonly string[],
  onBatch: (batch: readonly [string, unknown][]) => void,
  onState: (state: LiveState) => void = () => {},
): () => void {
  const source = new EventSource(url);
  let batch: [string, unknown][] = [];
  let frame: number | undefined;
  const flush = (): void => {
    frame = undefined;
    const taken = batch;
    batch = [];
    onBatch(taken);
  };
  for (const name of events) {
    source.addEventListener(name, (message) => {
      batch.push([name, JSON.parse((message as MessageEvent<string>).data)]);
      frame ??= requestAnimationFrame(flush);
    });
  }
  source.addEventListener('open', () => {
    batch.push([OPENED, null]);
    frame ??= requestAnimationFrame(flush);
    onState('live');
  });
  source.addEventListener('error', () =>
    onState(source.readyState === EventSource.CLOSED ? 'closed' : 'retrying'),
  );
  onState('connecting');
  return () => {
    source.close();
    if (frame !== undefined) cancelAnimationFrame(frame);
  };
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
  const response = await fetch(url, { signal });
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
