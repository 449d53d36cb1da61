import type { OutputChunk } from '../gen/cluster/v1/leader.js';
import { attemptKey } from '../scheduler/task.js';

/**
 * Chunks in one message at most: a task logging many short lines would otherwise put
 * hundreds of thousands in one message, one long turn for the leader.
 */
export const MAX_CHUNKS_PER_MESSAGE = 2_000;

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
 * Most output held for the leader, in UTF-16 units, whether waiting to be sent or sent and
 * not yet saved: what a worker cut off from its leader (a failover, a restart: seconds)
 * keeps to send once it is back.
 */
export const OUTPUT_HOLD_CHARS = 1024 * 1024;

/** A chunk sent up a stream and not yet saved by the leader. */
interface SentChunk {
  readonly chunk: OutputChunk;
  /** The HeartbeatRequest.serial of the message that carried it. */
  readonly serial: number;
}

/**
 * Output of running attempts going up the heartbeat stream, in order, cut into pieces so
 * that no message nears the leader's message-size limit (a message over it would end the
 * stream and make the worker dead). Each piece is numbered (OutputChunk.offset: characters
 * of its attempt before it). Held while the worker has no stream, and, with a leader that
 * says what it saved, after sending until it is saved: a new stream sends again whatever
 * was not, and the leader keeps each character once. At most `holdChars` are held; past
 * that, newer output is dropped and a marker says where.
 */
export class OutputBuffer {
  private chunks: OutputChunk[] = [];
  private sent: SentChunk[] = [];
  /** Sent chunks are kept until saved (the leader of this stream says what it saved). */
  private keepSent = false;
  private heldChars = 0;
  /** Characters produced so far per attempt (by attemptKey): the next piece's offset. */
  private readonly produced = new Map<string, number>();
  /** Attempts (by attemptKey) whose marker for dropped output is already queued. */
  private readonly cut = new Set<string>();

  constructor(private readonly holdChars = OUTPUT_HOLD_CHARS) {}

  /** Queues a piece of an attempt's output, cut into OUTPUT_PIECE_CHARS pieces. */
  push(id: string, attempt: number, stream: string, data: string): void {
    if (data.length === 0) return;
    const key = attemptKey(id, attempt);
    if (this.heldChars + data.length > this.holdChars) {
      if (this.cut.has(key)) return;
      this.cut.add(key);
      const marker = `[drover: output dropped here: more than ${this.holdChars} characters waited for the leader]\n`;
      this.queue(key, id, attempt, 'log', marker);
      return;
    }
    for (const piece of splitText(data, OUTPUT_PIECE_CHARS)) {
      this.queue(key, id, attempt, stream, piece);
    }
  }

  /**
   * A new stream opened: what the last one sent and its leader did not save goes first,
   * in order. `keepSent`: this stream's leader says what it saves (JoinResponse.output_acks).
   */
  streamOpened(keepSent: boolean): void {
    this.keepSent = keepSent;
    if (this.sent.length === 0) return;
    this.chunks = [...this.sent.map((s) => s.chunk), ...this.chunks];
    this.sent = [];
  }

  /**
   * The oldest chunks that fit in `budgetBytes` of UTF-8 (counted at the most, 3 bytes a
   * unit), at most MAX_CHUNKS_PER_MESSAGE, and always at least one, so a message makes
   * progress; `serial` is the message they go in.
   */
  take(budgetBytes: number, serial: number): OutputChunk[] {
    let budget = budgetBytes;
    let take = 0;
    while (take < this.chunks.length && take < MAX_CHUNKS_PER_MESSAGE) {
      budget -= this.chunks[take]!.data.length * 3;
      if (budget < 0 && take > 0) break;
      take++;
    }
    const taken = this.chunks.splice(0, take);
    if (this.keepSent) {
      for (const chunk of taken) this.sent.push({ chunk, serial });
    } else {
      this.release(taken);
    }
    return taken;
  }

  /** The leader saved the output of messages up to `serial` on this stream: forget it. */
  saved(serial: number): void {
    let done = 0;
    while (done < this.sent.length && this.sent[done]!.serial <= serial) done++;
    if (done === 0) return;
    this.release(this.sent.splice(0, done).map((s) => s.chunk));
  }

  /** The attempt ended and its report is made: no more output comes for it. */
  attemptEnded(key: string): void {
    this.produced.delete(key);
  }

  get size(): number {
    return this.chunks.length;
  }

  /** Characters held: waiting to be sent, or sent and not yet saved. */
  get held(): number {
    return this.heldChars;
  }

  /** Attempts (by attemptKey) that still have output waiting: their reports must wait. */
  attemptsWaiting(): Set<string> {
    return new Set(this.chunks.map((o) => attemptKey(o.id, o.attempt)));
  }

  private queue(key: string, id: string, attempt: number, stream: string, data: string): void {
    const offset = this.produced.get(key) ?? 0;
    this.produced.set(key, offset + data.length);
    this.chunks.push({ id, attempt, stream, data, offset });
    this.heldChars += data.length;
  }

  private release(chunks: readonly OutputChunk[]): void {
    for (const chunk of chunks) this.heldChars -= chunk.data.length;
    // Room again: output dropped from now on gets a marker of its own.
    if (chunks.length > 0) this.cut.clear();
  }
}
