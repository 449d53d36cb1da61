import type { WorkChannel } from '../../src/leader/views.js';
import type { RecallOrder, StartOrder, StopOrder } from '../../src/scheduler/scheduler.js';

/** A worker's stream as the leader sees it: it records the starts, stops, recalls and closes sent. */
export class RecordingChannel implements WorkChannel {
  readonly starts: StartOrder[] = [];
  readonly stops: StopOrder[] = [];
  readonly recalls: RecallOrder[] = [];
  /** Every close, with its reason, in order. */
  readonly closes: string[] = [];

  /** The reason of the first close, if it was closed. */
  get closed(): string | undefined {
    return this.closes[0];
  }

  start(order: StartOrder): void {
    this.starts.push(order);
  }

  stop(order: StopOrder): void {
    this.stops.push(order);
  }

  recall(order: RecallOrder): void {
    this.recalls.push(order);
  }

  close(reason: string): void {
    this.closes.push(reason);
  }
}
