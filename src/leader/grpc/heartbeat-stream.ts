import type { Logger } from 'pino';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type {
  FinishedTask,
  HeartbeatRequest,
  HeartbeatResponse,
} from '../../gen/cluster/v1/leader.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { echo } from '../../shared/text.js';
import { MalformedMessage } from '../../shared/malformed.js';
import { toGrpcStatus } from '../../shared/grpc-status.js';
import { asTaskId, memberIdFromWire, type MemberId } from '../../shared/ids.js';
import type { LeaderApi } from '../leader-api.js';
import type { CompletionReport } from '../../scheduler/scheduler.js';
import { finishedFromWire, heartbeatFromWire } from './member-wire.js';
import { StreamChannel } from './stream-channel.js';

type HeartbeatCall = ServerDuplexStream<HeartbeatRequest, HeartbeatResponse>;

/**
 * Handles one worker's Heartbeat stream: heartbeats come up, work goes down. The first
 * message names the member (which must have joined); from then on every message is a
 * heartbeat for it. Work is batched: all starts and stops for the member in one event-loop
 * turn go out as one HeartbeatResponse, with the acks that waited for it (StreamChannel).
 */
export function handleHeartbeatStream(
  call: HeartbeatCall,
  coordinator: LeaderApi,
  logger: Logger,
): void {
  const session = new HeartbeatSession(call, coordinator, logger);
  call.on('data', (request: HeartbeatRequest | MalformedMessage) => session.receive(request));
  call.on('end', () => {
    session.end('worker closed its heartbeat stream');
    call.end();
  });
  call.on('cancelled', () => session.end('heartbeat stream broke'));
  call.on('error', () => session.end('heartbeat stream failed'));
  call.on('close', () => session.end('heartbeat stream closed'));
}

/** One heartbeat stream: whose it is (once its first message says), and whether it ended. */
class HeartbeatSession {
  private memberId: MemberId | undefined;
  private streamId: number | undefined;
  private ended = false;
  private readonly channel: StreamChannel;

  constructor(
    private readonly call: HeartbeatCall,
    private readonly coordinator: LeaderApi,
    private readonly logger: Logger,
  ) {
    this.channel = new StreamChannel(call, () => this.ended);
  }

  /** Handles one message; a refused one ends the stream with its status. */
  receive(request: HeartbeatRequest | MalformedMessage): void {
    if (this.ended) return;
    try {
      if (request instanceof MalformedMessage) throw request.toError();
      const first = this.identify(request);
      const memberId = this.memberId!;
      this.channel.heard(request.serial);
      // Checked whole (ids) before any of it acts: a refused message changes nothing. The
      // lists are not counted: a legitimate worker's may be long (64 timed starts a slot,
      // an older worker's 1 MiB of one-character output chunks); what a stranger may send
      // is kept out by admission (tokens, worker certificates), not by a count.
      const beat = heartbeatFromWire(request);
      const reports = request.finished.map((f) => [f, finishedFromWire(f, memberId)] as const);
      // Output first: an attempt's last output arrives before (or with) its report.
      if (request.output.length > 0) this.appendOutput(request, memberId);
      // Reports next: an attempt that just ended is then no longer in `running`.
      for (const [finished, report] of reports) this.report(finished, report);
      this.coordinator.heartbeat(memberId, this.streamId!, beat, first);
      // Heartbeats are answered, so a worker knows within its heartbeat timeout when its
      // leader went silent (frozen, partitioned) and moves on, instead of waiting for TCP
      // keepalive; see StreamChannel.answer for how often.
      this.channel.answer();
    } catch (err) {
      const grpcStatus = toGrpcStatus(err, this.logger);
      this.end(`heartbeat refused: ${grpcStatus.details}`);
      this.call.emit('error', grpcStatus);
    }
  }

  /** Ends the stream once, closing it on the coordinator if it was opened there. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.memberId !== undefined && this.streamId !== undefined) {
      this.coordinator.closeStream(this.memberId, this.streamId, reason);
    }
  }

  /**
   * On the first message, names the member and opens its stream on the coordinator; on
   * later ones, checks they are for the same member. True for the first.
   */
  private identify(request: HeartbeatRequest): boolean {
    if (this.streamId !== undefined) {
      if (request.id !== this.memberId) {
        throw new InvalidArgumentError(
          `heartbeat for member ${echo(request.id)} on the stream of member ${this.memberId}`,
        );
      }
      return false;
    }
    if (request.id === '') throw new InvalidArgumentError('heartbeat has no member id');
    this.memberId = memberIdFromWire(request.id);
    this.streamId = this.coordinator.openStream(this.memberId, request.session, this.channel);
    return true;
  }

  /**
   * Hands a message's output to the coordinator. A worker that numbers its output keeps it
   * until told it is saved (HeartbeatResponse.output_saved_serial), and sends what is not
   * on its next stream: output sent to a leader that froze or died before saving it is not
   * lost.
   */
  private appendOutput(request: HeartbeatRequest, memberId: MemberId): void {
    const saved = this.coordinator.appendOutput(
      memberId,
      request.output.map((o) => ({
        taskId: asTaskId(o.id),
        attempt: o.attempt,
        stream: o.stream,
        data: o.data,
        offset: o.offset,
      })),
    );
    if (request.serial === 0 || request.output[0]!.offset === undefined) return;
    // A failed save has stopped the leader: nothing is acknowledged, the worker sends again.
    saved.then(
      () => this.channel.outputSaved(request.serial),
      () => {},
    );
  }

  /** Hands a finished attempt to the coordinator and acks the worker with the outcome. */
  private report(finished: FinishedTask, report: CompletionReport): void {
    void this.coordinator.completeTask(report).then(
      () =>
        this.channel.ack({
          id: finished.id,
          attempt: finished.attempt,
          accepted: true,
          code: 0,
          reason: '',
        }),
      (err: unknown) => {
        const refused = toGrpcStatus(err, this.logger);
        this.channel.ack({
          id: finished.id,
          attempt: finished.attempt,
          accepted: false,
          code: refused.code,
          reason: refused.details,
        });
      },
    );
  }
}
