import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  FinishedAck,
  HeartbeatRequest,
  HeartbeatResponse,
} from '../../gen/cluster/v1/leader.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { echo } from '../../shared/text.js';
import { MalformedMessage } from '../../shared/malformed.js';
import { toGrpcStatus } from '../../shared/grpc-status.js';
import { asTaskId, memberIdFromWire, type MemberId } from '../../shared/ids.js';
import type { StartOrder, StopOrder } from '../../scheduler/scheduler.js';
import type { Coordinator, WorkChannel } from '../coordinator.js';
import { finishedFromWire, heartbeatFromWire } from './member-wire.js';

type HeartbeatCall = ServerDuplexStream<HeartbeatRequest, HeartbeatResponse>;

/**
 * Handles one worker's Heartbeat stream: heartbeats come up, work goes down. The first
 * message names the member (which must have joined); from then on every message is a
 * heartbeat for it. Work is batched: all starts and stops for the member in one event-loop
 * turn go out as one HeartbeatResponse.
 */
export function handleHeartbeatStream(
  call: HeartbeatCall,
  coordinator: Coordinator,
  logger: Logger,
): void {
  let memberId: MemberId | undefined;
  let streamId: number | undefined;
  let ended = false;
  const channel = new StreamChannel(call, () => ended);

  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    if (memberId !== undefined && streamId !== undefined) {
      coordinator.closeStream(memberId, streamId, reason);
    }
  };

  call.on('data', (request: HeartbeatRequest | MalformedMessage) => {
    if (ended) return;
    try {
      if (request instanceof MalformedMessage) throw request.toError();
      const first = streamId === undefined;
      if (first) {
        if (request.id === '') throw new InvalidArgumentError('heartbeat has no member id');
        memberId = memberIdFromWire(request.id);
        streamId = coordinator.openStream(memberId, request.session, channel);
      } else if (request.id !== memberId) {
        throw new InvalidArgumentError(
          `heartbeat for member ${echo(request.id)} on the stream of member ${memberId}`,
        );
      }
      // Output first: an attempt's last output arrives before (or with) its report.
      if (request.output.length > 0) {
        coordinator.appendOutput(
          memberId!,
          request.output.map((o) => ({
            taskId: asTaskId(o.id),
            attempt: o.attempt,
            stream: o.stream,
            data: o.data,
          })),
        );
      }
      // Reports next: an attempt that just ended is then no longer in `running`.
      for (const finished of request.finished) {
        void coordinator.completeTask(finishedFromWire(finished, memberId!)).then(
          () =>
            channel.ack({
              id: finished.id,
              attempt: finished.attempt,
              accepted: true,
              code: 0,
              reason: '',
            }),
          (err: unknown) => {
            const refused = toGrpcStatus(err, logger);
            channel.ack({
              id: finished.id,
              attempt: finished.attempt,
              accepted: false,
              code: refused.code,
              reason: refused.details,
            });
          },
        );
      }
      coordinator.heartbeat(memberId!, streamId!, heartbeatFromWire(request), first);
    } catch (err) {
      const grpcStatus = toGrpcStatus(err, logger);
      end(`heartbeat refused: ${grpcStatus.details}`);
      call.emit('error', grpcStatus);
    }
  });
  call.on('end', () => {
    end('worker closed its heartbeat stream');
    call.end();
  });
  call.on('cancelled', () => end('heartbeat stream broke'));
  call.on('error', () => end('heartbeat stream failed'));
  call.on('close', () => end('heartbeat stream closed'));
}

/** The leader's side of a heartbeat stream, as the coordinator sees it. */
class StreamChannel implements WorkChannel {
  private pending: HeartbeatResponse | undefined;

  constructor(
    private readonly call: HeartbeatCall,
    private readonly isEnded: () => boolean,
  ) {}

  start(order: StartOrder): void {
    this.batch().start.push({
      id: order.taskId,
      payload: order.payload,
      attempt: order.attempt,
      kind: order.kind,
    });
  }

  stop(order: StopOrder): void {
    this.batch().stop.push({ id: order.taskId, attempt: order.attempt, reason: order.reason });
  }

  /** Answers a FinishedTask report. */
  ack(ack: FinishedAck): void {
    this.batch().acks.push(ack);
  }

  close(reason: string): void {
    if (this.isEnded()) return;
    this.flush();
    this.call.emit('error', { code: status.UNAVAILABLE, details: reason });
  }

  private batch(): HeartbeatResponse {
    if (this.pending === undefined) {
      this.pending = { start: [], stop: [], acks: [] };
      queueMicrotask(() => this.flush());
    }
    return this.pending;
  }

  private flush(): void {
    const message = this.pending;
    this.pending = undefined;
    if (message === undefined || this.isEnded()) return;
    this.call.write(message);
  }
}
