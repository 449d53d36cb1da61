import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { FinishedAck, OutputChunk, RunningTask } from '../gen/cluster/v1/leader.js';
import { attemptKey } from '../scheduler/task.js';
import type { AttemptOutcome } from './outcome.js';
import { OutputBuffer } from './output-buffer.js';
import { ReportBook } from './report-book.js';

/**
 * Output bytes per heartbeat message: a quarter of the smallest message limit a leader has
 * (4 MiB), leaving room for reports, so output can never get a message refused.
 */
export const OUTPUT_MESSAGE_BYTES = 1024 * 1024;
/**
 * Report bytes per heartbeat message (results and errors, estimated): with the output's
 * share, a message stays under 3.5 MiB, below the leader's smallest limit of 4 MiB.
 */
export const REPORT_MESSAGE_BYTES = 2 * 1024 * 1024;

/** What the next heartbeat carries besides liveness. */
export interface OutboxLoad {
  readonly output: OutputChunk[];
  readonly reports: readonly AttemptOutcome[];
  /** Something had to wait for a later message (a byte budget was used up). */
  readonly more: boolean;
}

/**
 * What goes up the heartbeat stream besides liveness: attempts' output (best effort) and
 * reports (kept until the leader answers them). It decides what each message carries and
 * logs what it gives up on; it does no I/O and runs no timers: the link sends.
 */
export class Outbox {
  /** Output of running attempts not yet sent (held, bounded, while disconnected). */
  private readonly pendingOutput = new OutputBuffer();
  /** The stream output is going up now (the link's stream serial). */
  private stream = 0;
  /** Attempts begun and not yet told (HeartbeatRequest.began), by attemptKey. */
  private readonly began = new Map<string, RunningTask>();
  /** A report was given up on: an attempt's end never reached a leader. */
  private reportLost = false;

  /**
   * `log` is the link's logger (these are the link's log lines). `reports`: those not yet
   * acknowledged; each goes out once per stream, a bounded number of times.
   */
  constructor(
    private readonly log: Logger,
    private readonly reports = new ReportBook(),
  ) {}

  /** Keeps a report until the leader answers it or it is given up on; resolves then. */
  report(outcome: AttemptOutcome): Promise<void> {
    const key = attemptKey(outcome.id, outcome.attempt);
    // Its report says it began: no notice needed (the usual case for a short task).
    if (this.began.size > 0) this.began.delete(key);
    this.pendingOutput.attemptEnded(key);
    return this.reports.add(outcome);
  }

  /** An attempt's handler began (`key`: its attemptKey): the leader is told in the next message. */
  beganAttempt(key: string, id: string, attempt: number): void {
    this.began.set(key, { id, attempt });
  }

  /**
   * Attempts begun since the last call that have not been reported, for a message; the
   * list starts again (a message that lists what runs lists all begun instead).
   */
  takeBegan(): RunningTask[] {
    if (this.began.size === 0) return [];
    const began = [...this.began.values()];
    this.began.clear();
    return began;
  }

  /** Queues a piece of an attempt's output. */
  output(id: string, attempt: number, stream: string, data: string): void {
    this.pendingOutput.push(id, attempt, stream, data);
  }

  /**
   * Stream `stream` opened: output its predecessor sent and no leader saved goes first.
   * `outputAcks`: its leader says what output it saved (JoinResponse.output_acks).
   */
  streamOpened(stream: number, outputAcks: boolean): void {
    this.stream = stream;
    this.pendingOutput.streamOpened(outputAcks);
  }

  /** The leader of stream `stream` saved the output of its messages up to `serial`. */
  outputSaved(stream: number, serial: number): void {
    if (stream === this.stream && serial > 0) this.pendingOutput.saved(serial);
  }

  /**
   * The load of the next message (`messageSerial`) on stream `serial`: the oldest output
   * within OUTPUT_MESSAGE_BYTES, and reports within REPORT_MESSAGE_BYTES not yet sent on it.
   */
  take(serial: number, messageSerial: number): OutboxLoad {
    // At most OUTPUT_MESSAGE_BYTES of output per message; the rest goes on the next turn.
    const output = this.pendingOutput.take(OUTPUT_MESSAGE_BYTES, messageSerial);
    // A report waits for its attempt's output to be sent: the leader keeps output only while
    // the attempt is current, and the report ends it.
    const outputLeft = this.pendingOutput.attemptsWaiting();
    const batch = this.reports.take(serial, REPORT_MESSAGE_BYTES, (key) => outputLeft.has(key));
    if (batch.dropped.length > 0) this.reportLost = true;
    for (const outcome of batch.dropped) {
      this.log.error(
        { taskId: outcome.id, attempt: outcome.attempt },
        'report dropped: no leader answered it on any of its streams',
      );
    }
    return { output, reports: batch.send, more: this.pendingOutput.size > 0 || batch.more };
  }

  /**
   * The leader answered reports; a refusal is logged: at info when the attempt was no
   * longer current (FAILED_PRECONDITION: it timed out, was cancelled or was given away,
   * an everyday outcome the leader has recorded already), at warn otherwise.
   */
  acknowledged(acks: readonly FinishedAck[]): void {
    for (const ack of acks) {
      if (this.reports.answered(ack.id, ack.attempt) && !ack.accepted) {
        const fields = {
          taskId: ack.id,
          attempt: ack.attempt,
          code: ack.code,
          details: ack.reason,
        };
        if (ack.code === status.FAILED_PRECONDITION) this.log.info(fields, 'report refused');
        else this.log.warn(fields, 'report refused');
      }
    }
  }

  /** Stream `serial` ended as too large: its large reports become short failures. */
  refusedAsTooLarge(serial: number, details: string): void {
    for (const outcome of this.reports.refusedAsTooLarge(serial, details)) {
      this.log.error(
        { taskId: outcome.id, attempt: outcome.attempt, details },
        'leader refused a report as too large; reporting the attempt failed instead',
      );
    }
  }

  /**
   * Whether every attempt that ended in this process was reported or still is (none given
   * up on): only then may a Join say JoinRequest.resumed.
   */
  get everyEndKept(): boolean {
    return !this.reportLost;
  }

  /**
   * Attempts that ended but whose report is neither answered nor in `sent` (held back
   * behind their output, or by the byte budget): listed with the running ones, so a leader
   * keeps them this worker's until the report comes instead of taking them as never begun.
   */
  endedUnreported(sent: readonly AttemptOutcome[]): RunningTask[] {
    if (this.reports.size === 0) return [];
    const inMessage = new Set(sent.map((outcome) => attemptKey(outcome.id, outcome.attempt)));
    return this.reports
      .outcomes()
      .filter((outcome) => !inMessage.has(attemptKey(outcome.id, outcome.attempt)))
      .map(({ id, attempt }) => ({ id, attempt }));
  }

  /** Drops reports that can no longer be delivered (the link stopped). */
  abandon(): void {
    this.reportLost = true;
    for (const outcome of this.reports.abandonAll()) {
      this.log.error({ taskId: outcome.id, attempt: outcome.attempt }, 'report dropped: no leader');
    }
  }
}
