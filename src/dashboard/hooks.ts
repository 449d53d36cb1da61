import { useEffect, useRef, useState } from 'preact/hooks';
import { followWatch, OPENED, type LiveState } from './live.js';

/** The location hash as path parts and query: `#/tasks/a%2Fb?x=1` → ['tasks', 'a/b']. */
export interface Route {
  readonly parts: string[];
  readonly query: URLSearchParams;
}

/** A path part as typed; a malformed escape (`%E0%A4%A`) is kept as it is, not thrown. */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The route the location hash names now. */
export function readRoute(): Route {
  const [path = '', query = ''] = window.location.hash.replace(/^#\/?/, '').split('?', 2);
  const parts = path
    .split('/')
    .filter((part) => part !== '')
    .map(decodePart);
  return { parts, query: new URLSearchParams(query) };
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const read = readRoute;
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** Goes to a view: `go('tasks', id)`. */
export function go(...parts: string[]): void {
  window.location.hash = `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** The time now, moving on every `everyMs` (for "3 s ago" columns; no server calls). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/**
 * Follows a watch while the component is shown (again whenever `url` changes). `reopened`
 * counts the times the stream came back after it was lost: a view that reads the rest
 * itself (a page of tasks, one task) reloads when it moves, to pick up what it missed.
 */
export function useWatch(
  url: string | undefined,
  events: readonly string[],
  onBatch: (batch: readonly [string, unknown][]) => void,
): { state: LiveState; reopened: number } {
  const [state, setState] = useState<LiveState>('connecting');
  const [reopened, setReopened] = useState(0);
  // The latest render's handler: one from the first render would read that render's
  // values (the task list's page), stale once the view moved on (to page 2, say).
  const handler = useRef(onBatch);
  handler.current = onBatch;
  useEffect(() => {
    if (url === undefined) return undefined;
    let opens = 0;
    return followWatch(
      url,
      events,
      (batch) => {
        if (batch.some(([event]) => event === OPENED) && opens++ > 0) setReopened((n) => n + 1);
        handler.current(batch);
      },
      setState,
    );
    // The watch is the url's; events never change, and the handler is read through a ref.
  }, [url]);
  return { state, reopened };
}
