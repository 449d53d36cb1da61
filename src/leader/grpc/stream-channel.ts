import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type {
  FinishedAck,
  HeartbeatRequest,
  HeartbeatResponse,
} from '../../gen/cluster/v1/leader.js';
import type { RecallOrder, StartOrder, StopOrder } from '../../scheduler/scheduler.js';
import type { WorkChannel } from '../views.js';
import { PRIORITY_TO_WIRE } from './task-wire.js';

/** What a StreamChannel needs of a worker's Heartbeat stream. */
export type ResponseCall = Pick<
  ServerDuplexStream<HeartbeatRequest, HeartbeatResponse>,
  'write' | 'emit'
>;

/**
 * The longest a worker's stream goes without a response while heartbeats arrive: well
 * under any heartbeat timeout (the smallest dead-after is a few hundred ms).
 */
const ANSWER_EVERY_MS = 100;

/**
 * Estimated bytes of start orders per message: under the 4 MiB a worker's channel takes by
 * default, with room for stops and acks. Starts past it go in the next message of the same
 * turn: payloads of up to 1 MiB each, assigned together, once made one message a worker
 * refused, dropping its stream and failing the tasks it ran.
 */
export const START_MESSAGE_BYTES = 3 * 1024 * 1024;

/** An upper bound on a start order's encoded size: 3 UTF-8 bytes a UTF-16 unit, and ids. */
function startBytes(order: StartOrder): number {
  return (order.payload.length + order.taskId.length + order.kind.length) * 3 + 256;
}

/** An untraced start's trace context: one shared empty map (encoding only reads it). */
const NO_TRACE: { [key: string]: string } = Object.freeze({}) as { [key: string]: string };

/** The leader's side of a heartbeat stream, as the coordinator sees it. */
export class StreamChannel implements WorkChannel {
  private pending: HeartbeatResponse | undefined;
  /** Estimated bytes of the pending message's start orders. */
  private pendingStartBytes = 0;
  /** Acks waiting for the next message (see ack). */
  private waitingAcks: FinishedAck[] = [];
  /** When the last response was written (performance.now ms). */
  private lastWriteAtMs = -Infinity;
  /** The highest HeartbeatRequest.serial received, echoed in every response. */
  private heardSerial = 0;
  /** The highest HeartbeatRequest.serial whose output is saved, sent in every response. */
  private savedSerial = 0;
  /** A response is due on the next turn (acks or saved output to tell). */
  private answerDue = false;
  /** The savedSerial the last response carried. */
  private sentSavedSerial = 0;

  constructor(
    private readonly call: ResponseCall,
    private readonly isEnded: () => boolean,
  ) {}

  start(order: StartOrder, trace?: Readonly<Record<string, string>>, startInMs = 0): void {
    const bytes = startBytes(order);
    // Full: what is pending goes now, in order, and this start opens the next message.
    if (this.pending !== undefined && this.pending.start.length > 0) {
      if (this.pendingStartBytes + bytes > START_MESSAGE_BYTES) this.flush();
    }
    this.pendingStartBytes += bytes;
    this.batch().start.push({
      id: order.taskId,
      payload: order.payload,
      attempt: order.attempt,
      kind: order.kind,
      concurrencyKey: order.concurrencyKey ?? '',
      traceContext: trace ?? NO_TRACE,
      startInMs,
      priority: PRIORITY_TO_WIRE[order.priority],
    });
  }

  stop(order: StopOrder): void {
    this.batch().stop.push({ id: order.taskId, attempt: order.attempt, reason: order.reason });
  }

  recall(order: RecallOrder): void {
    this.batch().recall.push({ id: order.taskId, attempt: order.attempt, reason: order.reason });
  }

  /**
   * Makes sure the worker hears from its leader: a response goes out this turn (empty if
   * there is no work to carry) unless one went out in the last ANSWER_EVERY_MS. Workers
   * also send a heartbeat per batch of reports, thousands a second under load; answering
   * each with its own message cost them ~5 µs a task (measured).
   */
  /** A heartbeat with this serial arrived: later responses prove it was heard. */
  heard(serial: number): void {
    if (serial > this.heardSerial) this.heardSerial = serial;
  }

  answer(): void {
    if (performance.now() - this.lastWriteAtMs >= ANSWER_EVERY_MS) this.batch();
  }

  /**
   * Answers a FinishedTask report. Acks are not urgent (they only let the worker forget a
   * report), so they wait for the next message, which is most often the start orders for
   * the slots those reports freed, or go alone on the next turn: one message instead of
   * two per round of reports (profiling showed message handling as most of a worker's CPU).
   */
  ack(ack: FinishedAck): void {
    if (this.pending !== undefined) {
      this.pending.acks.push(ack);
      return;
    }
    this.waitingAcks.push(ack);
    this.answerNextTurn();
  }

  /**
   * The output of the message with this serial (and of every one before it) is saved: the
   * worker may forget it. Told like acks, with the next message or alone on the next turn.
   */
  outputSaved(serial: number): void {
    if (serial <= this.savedSerial) return;
    this.savedSerial = serial;
    if (this.pending === undefined) this.answerNextTurn();
  }

  private answerNextTurn(): void {
    if (this.answerDue) return;
    this.answerDue = true;
    setImmediate(() => {
      this.answerDue = false;
      if (this.waitingAcks.length > 0 || this.savedSerial > this.sentSavedSerial) this.batch();
    });
  }

  close(reason: string): void {
    if (this.isEnded()) return;
    // Acks and saved output still waiting for a message go with the last one: a worker
    // whose accepted report is not acked sends it again to the next leader stream, and
    // output not acknowledged as saved too (the next leader keeps only what it lacks).
    if (this.waitingAcks.length > 0 || this.savedSerial > this.sentSavedSerial) this.batch();
    this.flush();
    this.call.emit('error', { code: status.UNAVAILABLE, details: reason });
  }

  private batch(): HeartbeatResponse {
    if (this.pending === undefined) {
      this.pending = {
        start: [],
        stop: [],
        recall: [],
        acks: this.waitingAcks,
        heardSerial: 0,
        outputSavedSerial: 0,
      };
      this.waitingAcks = [];
      queueMicrotask(() => this.flush());
    }
    return this.pending;
  }

  private flush(): void {
    const message = this.pending;
    this.pending = undefined;
    this.pendingStartBytes = 0;
    if (message === undefined || this.isEnded()) return;
    // Stamped at the write, not when the batch began: the latest proof there is.
    message.heardSerial = this.heardSerial;
    message.outputSavedSerial = this.savedSerial;
    this.sentSavedSerial = this.savedSerial;
    this.lastWriteAtMs = performance.now();
    this.call.write(message);
  }
}
