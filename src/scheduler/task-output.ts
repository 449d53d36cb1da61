import type { TaskId } from '../shared/ids.js';

/** A piece of a task's output, at its place in the whole. */
export interface OutputChunk {
  /** Characters of the task's output before this chunk. */
  readonly offset: number;
  readonly attempt: number;
  /** `stdout`, `stderr` or `log`. */
  readonly stream: string;
  readonly data: string;
  /** Set on the marker chunk written where the output was cut at its limit. */
  readonly truncated: boolean;
}

/** How much output the leader keeps. */
export interface OutputLimits {
  /** Characters kept per task; the rest is dropped after a marker. */
  readonly perTaskChars: number;
  /** Characters kept across tasks; finished tasks' output goes first when it is reached. */
  readonly totalChars: number;
}

interface TaskLog {
  readonly chunks: OutputChunk[];
  length: number;
  truncated: boolean;
  /** The attempt of the latest output kept, and how many of its characters came from the worker. */
  attempt: number;
  attemptChars: number;
  /** How far the worker's numbering of that attempt's output has reached (since start-up). */
  attemptReach: number;
}

function emptyLog(): TaskLog {
  return { chunks: [], length: 0, truncated: false, attempt: 0, attemptChars: 0, attemptReach: 0 };
}

/**
 * Tasks' output (command stdout/stderr, SDK log lines), in memory, bounded per task and in
 * total. Append-only per task, so a follower resumes from an offset. Pure: it keeps text
 * and counts characters; the coordinator decides what may be appended (current attempts).
 */
export class TaskOutputLog {
  private readonly logs = new Map<TaskId, TaskLog>();
  /** Tasks whose output is complete, oldest finished first: evicted first. */
  private readonly finished = new Set<TaskId>();
  private totalChars = 0;

  constructor(private readonly limits: OutputLimits) {}

  /** Characters held across all tasks. */
  get size(): number {
    return this.totalChars;
  }

  /**
   * Adds output to a task's log; returns the chunks stored (the data, possibly cut, and a
   * truncation marker when the limit is reached), or none once the log is full.
   */
  append(taskId: TaskId, attempt: number, stream: string, data: string): OutputChunk[] {
    if (data.length === 0) return [];
    const log = this.logOf(taskId);
    if (log.truncated) return [];
    this.makeRoom(Math.min(data.length, this.limits.perTaskChars - log.length), taskId);
    const taskRoom = this.limits.perTaskChars - log.length;
    const totalRoom = this.limits.totalChars - this.totalChars;
    const room = Math.min(taskRoom, totalRoom);
    const stored: OutputChunk[] = [];
    const kept = data.length <= room ? data : data.slice(0, Math.max(0, room));
    if (kept.length > 0) stored.push(this.push(log, { attempt, stream, data: kept }, false));
    if (kept.length < data.length) {
      log.truncated = true;
      const why =
        taskRoom <= totalRoom
          ? `over ${this.limits.perTaskChars} characters`
          : 'the leader holds as much output as it may';
      stored.push(
        this.push(log, { attempt, stream: 'log', data: `\n[output truncated: ${why}]\n` }, true),
      );
    }
    return stored;
  }

  /**
   * Puts back a chunk as it was stored (after a restart), in order. Finished tasks' output
   * is evicted first if the total limit is now smaller than what was kept.
   */
  restore(taskId: TaskId, chunk: OutputChunk, finished: boolean): void {
    const log = this.logOf(taskId);
    if (chunk.offset !== log.length) return; // a gap: keep what is whole
    this.makeRoom(chunk.data.length, taskId);
    log.chunks.push(chunk);
    log.length += chunk.data.length;
    this.totalChars += chunk.data.length;
    if (chunk.truncated) log.truncated = true;
    else countAttemptChars(log, chunk.attempt, chunk.data.length);
    if (finished) this.finished.add(taskId);
  }

  /**
   * Where the worker's numbering of `attempt`'s output (OutputChunk.offset) has reached
   * here, so a chunk sent again is recognised: the furthest a numbered piece reached since
   * start-up, or, after a restart, the characters this log holds as the worker sent them
   * (markers the leader wrote not counted).
   */
  attemptChars(taskId: TaskId, attempt: number): number {
    const log = this.logs.get(taskId);
    if (log === undefined || log.attempt !== attempt) return 0;
    // Past a gap the count falls behind the worker's numbering; the reach does not (it is
    // in memory only: after a restart the count is what there is).
    return Math.max(log.attemptChars, log.attemptReach);
  }

  /** The worker's numbering of `attempt`'s output has reached `end` (a piece arrived). */
  reached(taskId: TaskId, attempt: number, end: number): void {
    const log = this.logOf(taskId);
    countAttemptChars(log, attempt, 0);
    log.attemptReach = Math.max(log.attemptReach, end);
  }

  /** A finished task runs again (a re-run): its output is no longer complete, nor evictable. */
  reopen(taskId: TaskId): void {
    this.finished.delete(taskId);
  }

  /** A task's output from `offset` on; empty for a task with none. */
  read(taskId: TaskId, offset: number): OutputChunk[] {
    const log = this.logs.get(taskId);
    if (!log) return [];
    const out: OutputChunk[] = [];
    for (const chunk of log.chunks) {
      const from = sliceFrom(chunk, offset);
      if (from) out.push(from);
    }
    return out;
  }

  /** The task finished: its output is complete and may be evicted under pressure. */
  markFinished(taskId: TaskId): void {
    if (this.logs.has(taskId)) this.finished.add(taskId);
  }

  /** Drops a task's output (the task was pruned or deleted). */
  forget(taskId: TaskId): void {
    const log = this.logs.get(taskId);
    if (!log) return;
    this.totalChars -= log.length;
    this.logs.delete(taskId);
    this.finished.delete(taskId);
  }

  /** Evicts finished tasks' output, oldest first, until `chars` more fit in the total. */
  private makeRoom(chars: number, keep: TaskId): void {
    for (const id of this.finished) {
      if (this.totalChars + chars <= this.limits.totalChars) return;
      if (id !== keep) this.forget(id);
    }
  }

  /** A task's log, made empty if it has none yet. */
  private logOf(taskId: TaskId): TaskLog {
    let log = this.logs.get(taskId);
    if (!log) {
      log = emptyLog();
      this.logs.set(taskId, log);
    }
    return log;
  }

  private push(
    log: TaskLog,
    piece: { attempt: number; stream: string; data: string },
    truncated: boolean,
  ): OutputChunk {
    const chunk: OutputChunk = { offset: log.length, ...piece, truncated };
    if (!truncated) countAttemptChars(log, piece.attempt, piece.data.length);
    log.chunks.push(chunk);
    log.length += piece.data.length;
    this.totalChars += piece.data.length;
    return chunk;
  }
}

/** The part of a chunk at or after `offset`, or undefined if it all comes before. */
export function sliceFrom(chunk: OutputChunk, offset: number): OutputChunk | undefined {
  if (chunk.offset >= offset) return chunk;
  if (chunk.offset + chunk.data.length <= offset) return undefined;
  return { ...chunk, offset, data: chunk.data.slice(offset - chunk.offset) };
}

/** Counts characters of an attempt's output; a later attempt starts the count again. */
function countAttemptChars(log: TaskLog, attempt: number, chars: number): void {
  if (log.attempt !== attempt) {
    log.attempt = attempt;
    log.attemptChars = 0;
    log.attemptReach = 0;
  }
  log.attemptChars += chars;
}
