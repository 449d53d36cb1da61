import { useEffect, useRef, useState } from 'preact/hooks';
import { seg } from '../api.js';
import { attemptMarker } from '../../shared/attempt-marker.js';
import { followPieces } from '../live.js';

/** The most output characters kept on the page; older text scrolls out. */
const MAX_OUTPUT_CHARS = 1_000_000;

/** How long after a follow broke while the task runs it is tried again. */
const FOLLOW_AGAIN_MS = 1_000;

/**
 * The task's output, streamed while it is written: followed from the leader until the task
 * finishes, and followed again from where it stopped when a new attempt starts (a re-run).
 * A line marks where each attempt's output begins, after the first: a retry's output
 * would otherwise run on from the failed attempt's with nothing between them.
 */
export function LiveOutput({ id, attempt, open }: { id: string; attempt: number; open: boolean }) {
  const [text, setText] = useState('');
  const [state, setState] = useState<'following' | 'ended' | 'failed'>('following');
  const length = useRef(0);
  const shownAttempt = useRef<number | undefined>(undefined);
  // Bumped to follow again: a follow that ended while the task runs on (its leader shut
  // down or failed over) picks up from where it was, a second later.
  const [round, setRound] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    let again: ReturnType<typeof setTimeout> | undefined;
    const retry = (): void => {
      again = setTimeout(() => setRound((r) => r + 1), FOLLOW_AGAIN_MS);
    };
    setState('following');
    followPieces(
      `/v1/tasks/${seg(id)}/output?follow=true&format=ndjson&offset=${length.current}`,
      abort.signal,
      (piece) => {
        length.current = piece.offset + piece.data.length;
        const before = shownAttempt.current;
        shownAttempt.current = piece.attempt;
        setText((old) =>
          (old + attemptMarker(old, before, piece.attempt) + piece.data).slice(-MAX_OUTPUT_CHARS),
        );
      },
    ).then(
      () => (abort.signal.aborted ? undefined : open ? retry() : setState('ended')),
      () => {
        if (abort.signal.aborted) return;
        setState('failed');
        if (open) retry();
      },
    );
    return () => {
      abort.abort();
      clearTimeout(again);
    };
    // A new attempt (a re-run) writes more output, and a task that ends may have written
    // some since a follow broke: follow again from where we are.
  }, [id, attempt, open, round]);
  return (
    <div class="block">
      <h2>
        Output{' '}
        <span class="muted">
          {state === 'following' && open
            ? '(live)'
            : state === 'failed'
              ? '(could not follow)'
              : ''}
        </span>
      </h2>
      <pre class="output" data-output>
        {text || (open ? 'no output yet' : 'no output')}
      </pre>
    </div>
  );
}
