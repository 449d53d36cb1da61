import type { MemberId, TaskId } from '../shared/ids.js';
import type { StoredOutput } from '../scheduler/store/store.js';
import type { OutputChunk, TaskOutputLog } from '../scheduler/task-output.js';
import { isFinal, type TaskRecord } from '../scheduler/task.js';
import type { ClusterEvents, OutputEvent } from './cluster-events.js';
import type { CommitPipeline } from './commit-pipeline.js';

/** A piece of output as a worker sent it. */
export interface OutputInput {
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly stream: string;
  readonly data: string;
  /**
   * Characters of this attempt's output the worker produced before this piece; undefined
   * from a worker that does not number its output.
   */
  readonly offset?: number | undefined;
}

/** What the output feed reads and writes. */
export interface OutputFeedDeps {
  readonly getTask: (id: TaskId) => TaskRecord;
  readonly output: TaskOutputLog;
  readonly events: ClusterEvents;
  readonly commits: Pick<CommitPipeline, 'saveOutput'>;
}

/** Task output: taken from workers, kept (bounded), saved, and read or followed by callers. */
export class OutputFeed {
  constructor(private readonly deps: OutputFeedDeps) {}

  /**
   * Output a member sent for its attempts. Only the current attempt of a task that member
   * runs is kept, or of one it was running when its stream broke (pending again, the
   * attempt not ended: a new stream's first message brings that output before it
   * re-attaches the attempt); a stale attempt's output is dropped, as its report would be
   * refused. A numbered piece is kept from where the worker's numbering of its attempt has
   * reached here (see unseen): a piece sent again (a new stream after a lost leader) is not
   * kept twice. Resolves once what was kept is saved, after everything saved before it (the
   * worker may then forget it).
   */
  append(memberId: MemberId, chunks: readonly OutputInput[]): Promise<void> {
    const stored: StoredOutput[] = [];
    for (const { taskId, attempt, stream, data, offset } of chunks) {
      const task = this.currentTask(taskId);
      if (!task || !runsOrRan(task, memberId, attempt)) continue;
      const fresh = offset === undefined ? data : this.unseen(taskId, attempt, offset, data);
      if (offset !== undefined) this.deps.output.reached(taskId, attempt, offset + data.length);
      for (const chunk of this.deps.output.append(taskId, attempt, stream, fresh)) {
        this.deps.events.emitOutput(taskId, { kind: 'chunk', chunk });
        stored.push({ taskSeq: task.seq, chunk });
      }
    }
    return this.deps.commits.saveOutput(stored);
  }

  /**
   * The part of a numbered piece this log does not hold yet: what lies past the furthest
   * the worker's numbering has reached here. A piece past it (output between was lost, say
   * with a leader that ran with no store) is kept whole: a gap is better than dropping what
   * did arrive.
   */
  private unseen(taskId: TaskId, attempt: number, offset: number, data: string): string {
    const held = this.deps.output.attemptChars(taskId, attempt);
    if (offset >= held) return data;
    return held - offset >= data.length ? '' : data.slice(held - offset);
  }

  /**
   * A task's output from `offset`, and (with a listener) what comes after, until the task
   * finishes. `done` says the task is finished already: nothing more will come.
   */
  read(
    taskId: TaskId,
    offset: number,
    listener?: (event: OutputEvent) => void,
  ): { chunks: OutputChunk[]; done: boolean; unsubscribe: () => void } {
    const task = this.deps.getTask(taskId);
    const done = isFinal(task.status);
    // Registered before reading, in the same turn: no chunk falls between the two.
    const unsubscribe = listener && !done ? this.deps.events.onOutput(taskId, listener) : () => {};
    return { chunks: this.deps.output.read(taskId, offset), done, unsubscribe };
  }

  private currentTask(id: TaskId): TaskRecord | undefined {
    try {
      return this.deps.getTask(id);
    } catch {
      return undefined;
    }
  }
}

/** The member runs this attempt, or ran it until its stream broke and may re-attach it. */
function runsOrRan(task: TaskRecord, memberId: MemberId, attempt: number): boolean {
  if (task.attempt !== attempt || task.memberId !== memberId) return false;
  return task.status === 'running' || (task.status === 'pending' && !task.attemptEnded);
}
