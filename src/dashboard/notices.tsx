import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';

/** A message at the top of the page: an error the API gave, or a confirmation. */
interface Notice {
  readonly id: number;
  readonly kind: 'error' | 'info';
  readonly text: string;
}

type Show = (kind: Notice['kind'], text: string) => void;

const NoticeContext = createContext<Show>(() => {});

/** Shows a notice from anywhere below {@link NoticeProvider}. */
export function useNotice(): Show {
  return useContext(NoticeContext);
}

/** Turns a thrown value into the words a person reads (the API's message when it gave one). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let nextId = 1;

/** How long a confirmation stays. */
const INFO_MS = 6000;

/** Holds the notices and renders them above its children; each can be dismissed. */
export function NoticeProvider({ children }: { children: ComponentChildren }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const show = useCallback<Show>((kind, text) => {
    // The newest five: a burst of failures must not push the page off the screen.
    const id = nextId++;
    // The same words again replace the earlier notice rather than stack under it.
    setNotices((list) =>
      [...list.filter((n) => n.kind !== kind || n.text !== text), { id, kind, text }].slice(-5),
    );
    // Confirmations go by themselves; errors stay until dismissed.
    if (kind === 'info') {
      setTimeout(() => setNotices((list) => list.filter((n) => n.id !== id)), INFO_MS);
    }
  }, []);
  const dismiss = (id: number) => setNotices((list) => list.filter((n) => n.id !== id));
  // An error belongs to the view it happened in: moving to another view drops it (a
  // confirmation, such as "deleted" before going back to the list, stays its time).
  useEffect(() => {
    const drop = () => setNotices((list) => list.filter((n) => n.kind !== 'error'));
    addEventListener('hashchange', drop);
    return () => removeEventListener('hashchange', drop);
  }, []);
  return (
    <NoticeContext.Provider value={show}>
      <div class="notices" aria-live="polite">
        {notices.map((notice) => (
          <div
            class={`notice notice-${notice.kind}`}
            role={notice.kind === 'error' ? 'alert' : 'status'}
            key={notice.id}
          >
            <span>{notice.text}</span>
            <button
              type="button"
              class="link"
              aria-label="dismiss"
              onClick={() => dismiss(notice.id)}
            >
              ×
            </button>
          </div>
        ))}
      </div>
      {children}
    </NoticeContext.Provider>
  );
}
