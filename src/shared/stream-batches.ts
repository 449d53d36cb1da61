/**
 * The response header by which a leader says it takes several tasks in one
 * ScheduleTaskStreamRequest (its `more`). A producer batches only after seeing it: a leader
 * from before would ignore `more`, leaving those tasks unscheduled and unanswered.
 */
export const STREAM_BATCHES_HEADER = 'drover-stream-batches';

/** Most tasks one stream message may carry in `more`, as ScheduleTasks takes per call. */
export const MAX_STREAM_BATCH = 10_000;
