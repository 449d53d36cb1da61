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
   * runs is kept: a stale attempt's output is dropped, as its report would be refused.
   */
  append(memberId: MemberId, chunks: readonly OutputInput[]): void {
    const stored: StoredOutput[] = [];
    for (const { taskId, attempt, stream, data } of chunks) {
      const task = this.currentTask(taskId);
      if (task?.status !== 'running' || task.attempt !== attempt || task.memberId !== memberId) {
        continue;
      }
      for (const chunk of this.deps.output.append(taskId, attempt, stream, data)) {
        this.deps.events.emitOutput(taskId, { kind: 'chunk', chunk });
        stored.push({ taskSeq: task.seq, chunk });
      }
    }
    this.deps.commits.saveOutput(stored);
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
