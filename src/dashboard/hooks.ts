import { useEffect, useState } from 'preact/hooks';
import { followWatch, type LiveState } from './live.js';

/** The location hash as path parts: `#/tasks/a%2Fb` → ['tasks', 'a/b']. */
export function useRoute(): string[] {
  const read = () =>
    window.location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((part) => part !== '')
      .map((part) => decodeURIComponent(part));
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

/** Follows a watch while the component is shown (again whenever `url` changes). */
export function useWatch(
  url: string | undefined,
  events: readonly string[],
  onBatch: (batch: readonly [string, unknown][]) => void,
): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    if (url === undefined) return undefined;
    return followWatch(url, events, onBatch, setState);
    // onBatch is a state updater built for this url; events never change.
  }, [url]);
  return state;
}
