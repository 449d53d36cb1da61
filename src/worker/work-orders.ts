import type { Logger } from 'pino';
import type { HeartbeatResponse } from '../gen/cluster/v1/leader.js';
import type { StartWorkRequest, StopWorkRequest } from '../gen/worker/v1/worker.js';
import type { KeyFence } from './key-fence.js';
import type { TaskRunner } from './runner.js';

/** What following the leader's orders needs: the runner, and the fence for keyed starts. */
export interface WorkOrderDeps {
  readonly runner: Pick<TaskRunner, 'start' | 'stop' | 'recall'>;
  readonly fence: Pick<KeyFence, 'allowsKeyed' | 'reason'>;
  readonly log: Logger;
}

/** Starts, stops and hands back what one message from the leader says, in that order. */
export function followWorkOrders(message: HeartbeatResponse, deps: WorkOrderDeps): void {
  const { runner, fence, log } = deps;
  // A handler that returns at once runs inside start(): a stop for it in this same
  // message must be known before, or it would report a result instead of the stop.
  for (const start of message.start) {
    // A keyed start read past the fence deadline (it waited while this process was
    // frozen) starts stopped: the leader may have given its place away already.
    const fenced = start.concurrencyKey !== '' && !fence.allowsKeyed() ? fence.reason() : undefined;
    runner.start(start, stopIn(message, start)?.reason ?? fenced);
  }
  for (const stop of message.stop) {
    log.info({ taskId: stop.id, attempt: stop.attempt, reason: stop.reason }, 'stop received');
    runner.stop(stop.id, stop.attempt, stop.reason);
  }
  for (const recall of message.recall) {
    const handedBack = runner.recall(recall.id, recall.attempt, recall.reason);
    log.info(
      { taskId: recall.id, attempt: recall.attempt, reason: recall.reason, handedBack },
      handedBack ? 'task handed back unstarted' : 'recall of a task already begun: it runs on',
    );
  }
}

/** The stop in `message` for the attempt `start` begins, if the leader sent both at once. */
function stopIn(message: HeartbeatResponse, start: StartWorkRequest): StopWorkRequest | undefined {
  if (message.stop.length === 0) return undefined;
  return message.stop.find(
    (stop) => stop.id === start.id && (stop.attempt === 0 || stop.attempt === start.attempt),
  );
}
