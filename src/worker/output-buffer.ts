import type { OutputChunk } from '../gen/cluster/v1/leader.js';
import { attemptKey } from '../scheduler/task.js';

/** Longest piece of output in one chunk, in UTF-16 units (at most 3 UTF-8 bytes each). */
export const OUTPUT_PIECE_CHARS = 8 * 1024;

/** Cuts text into pieces of at most `most` units, never between a surrogate pair. */
export function splitText(text: string, most: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  // Bounded: each step moves on by at least one unit.
  while (start < text.length) {
    let end = Math.min(start + most, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - start > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/**
 * Most output held waiting for the leader, in UTF-16 units: what a worker cut off from its
 * leader (a failover, a restart: seconds) keeps to send once it is back.
 */
export const OUTPUT_HOLD_CHARS = 1024 * 1024;

/**
 * Output of running attempts waiting to go up the heartbeat stream, in order, cut into
 * pieces so that no message nears the leader's message-size limit (a message over it
 * would end the stream and make the worker dead). Held while the worker has no stream
 * (it goes up the next one), up to `holdChars`; past that, newer output is dropped and
 * a marker says where.
 */
export class OutputBuffer {
  private chunks: OutputChunk[] = [];
  private heldChars = 0;
  /** Attempts (by attemptKey) whose marker for dropped output is already queued. */
  private readonly cut = new Set<string>();

  constructor(private readonly holdChars = OUTPUT_HOLD_CHARS) {}

  /** Queues a piece of an attempt's output, cut into OUTPUT_PIECE_CHARS pieces. */
  push(id: string, attempt: number, stream: string, data: string): void {
    if (this.heldChars + data.length > this.holdChars) {
      const key = attemptKey(id, attempt);
      if (this.cut.has(key)) return;
      this.cut.add(key);
      const marker = `[drover: output dropped here: more than ${this.holdChars} characters waited for the leader]\n`;
      this.chunks.push({ id, attempt, stream: 'log', data: marker });
      this.heldChars += marker.length;
      return;
    }
    this.heldChars += data.length;
    for (const piece of splitText(data, OUTPUT_PIECE_CHARS)) {
      this.chunks.push({ id, attempt, stream, data: piece });
    }
  }

  /**
   * The oldest chunks that fit in `budgetBytes` of UTF-8 (counted at the most, 3 bytes a
   * unit), and always at least one, so a message makes progress.
   */
  take(budgetBytes: number): OutputChunk[] {
    let budget = budgetBytes;
    let take = 0;
    while (take < this.chunks.length) {
      budget -= this.chunks[take]!.data.length * 3;
      if (budget < 0 && take > 0) break;
      take++;
    }
    const taken = this.chunks.splice(0, take);
    for (const chunk of taken) this.heldChars -= chunk.data.length;
    // Room again: output dropped from now on gets a marker of its own.
    this.cut.clear();
    return taken;
  }

  get size(): number {
    return this.chunks.length;
  }

  /** Attempts (by attemptKey) that still have output waiting: their reports must wait. */
  attemptsWaiting(): Set<string> {
    return new Set(this.chunks.map((o) => attemptKey(o.id, o.attempt)));
  }
}
