import type { ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import type { ScheduleTaskStreamRequest } from '../gen/scheduler/v1/scheduler.js';
import { STREAM_BATCHES_HEADER } from '../shared/stream-batches.js';

/**
 * Most tasks a producer puts in one stream message, far below the leader's limit
 * (MAX_STREAM_BATCH): a bigger message would save little more per task (the per-message
 * cost is already shared by a thousand) and would hold back the first answers of its batch.
 */
export const PRODUCER_BATCH_TASKS = 1_000;

/**
 * Estimated bytes a producer puts in one stream message: a quarter of the smallest
 * message limit a leader has (4 MiB). A task bigger than this goes alone.
 */
export const PRODUCER_BATCH_BYTES = 1024 * 1024;

/** What a batcher needs: where messages go, and how to run something at the turn's end. */
export interface RequestBatcherDeps {
  readonly write: (message: ScheduleTaskStreamRequest) => void;
  readonly defer?: (fn: () => void) => void;
}

/**
 * Sends a producer's schedule requests on one stream: one message per request until the
 * leader said it takes batches (see STREAM_BATCHES_HEADER), then every request of one
 * event-loop turn in one message, the first as the message and the rest in its `more`.
 * Nothing waits longer than the turn it was asked in, so a lone schedule goes out as fast
 * as before; a burst (answers arrive together, and the next schedules with them) saves a
 * gRPC message each way per task, which is most of what a streamed task cost the leader
 * and the producer.
 */
export class RequestBatcher {
  private queued: ScheduleTaskStreamRequest[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private batching = false;
  private stopped = false;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly deps: RequestBatcherDeps) {
    this.defer = deps.defer ?? setImmediate;
  }

  /** The leader takes batches: from now on a turn's requests go in one message. */
  enableBatches(): void {
    this.batching = true;
  }

  /**
   * Sends `request` now, or with the rest of this turn's once batching is on. Throws once
   * stopped: a request taken then could never be answered.
   */
  add(request: ScheduleTaskStreamRequest): void {
    if (this.stopped) throw new Error('the schedule stream this batcher wrote to has ended');
    if (!this.batching) {
      this.deps.write(request);
      return;
    }
    const bytes = estimatedBytes(request);
    const full =
      this.queued.length >= PRODUCER_BATCH_TASKS || this.queuedBytes + bytes > PRODUCER_BATCH_BYTES;
    if (full) this.flush();
    this.queued.push(request);
    this.queuedBytes += bytes;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.defer(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends what is queued, as one message. */
  flush(): void {
    if (this.stopped || this.queued.length === 0) return;
    const [first, ...more] = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.deps.write(more.length === 0 ? first! : { ...first!, more });
  }

  /** The stream is gone: nothing queued is sent (its callers are failed by the producer). */
  stop(): void {
    this.stopped = true;
    this.queued = [];
    this.queuedBytes = 0;
  }
}

/** A batcher writing to `stream`, batching once its response headers say the leader can. */
export function batcherFor(stream: ClientDuplexStream<ScheduleTaskStreamRequest, unknown>) {
  const batcher = new RequestBatcher({ write: (message) => stream.write(message) });
  stream.once('metadata', (headers: Metadata) => {
    if (headers.get(STREAM_BATCHES_HEADER)[0] === '1') batcher.enableBatches();
  });
  return batcher;
}

/**
 * An upper bound on a request's encoded size, cheap to take: a UTF-16 unit is at most 3
 * UTF-8 bytes; numbers, tags and lengths fit in the constant.
 */
function estimatedBytes({ task }: ScheduleTaskStreamRequest): number {
  if (task === undefined) return 64;
  let chars =
    task.payload.length +
    task.id.length +
    task.kind.length +
    task.idempotencyKey.length +
    task.concurrencyKey.length +
    task.targetMemberId.length;
  for (const [key, value] of Object.entries(task.traceContext)) chars += key.length + value.length;
  return chars * 3 + 256;
}
