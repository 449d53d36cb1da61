import { setTimeout as sleep } from 'node:timers/promises';
import {
  Channel,
  Metadata,
  status,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  HeartbeatStatus,
  LeaderServiceClient,
  type FinishedAck,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinResponse,
} from '../gen/cluster/v1/leader.js';
import { deadlineAfter } from '../shared/clock.js';
import { ConflictError, InvalidArgumentError, errorMessage } from '../shared/errors.js';
import { reconnectDelayMs, streamWasStable, type ReconnectPolicy } from './backoff.js';
import type { AttemptOutcome } from './outcome.js';
import { OutputBuffer } from './output-buffer.js';
import { ReportBook } from './report-book.js';
import type { TaskRunner } from './runner.js';

export type { ReconnectPolicy } from './backoff.js';

/**
 * Output bytes per heartbeat message: a quarter of the smallest message limit a leader has
 * (4 MiB), leaving room for reports, so output can never get a message refused.
 */
const OUTPUT_MESSAGE_BYTES = 1024 * 1024;
/**
 * Report bytes per heartbeat message (results and errors, estimated): with the output's
 * share, a message stays under 3.5 MiB, below the leader's smallest limit of 4 MiB.
 */
const REPORT_MESSAGE_BYTES = 2 * 1024 * 1024;

/** Who this worker is, as it tells the leader on Join. */
export interface WorkerIdentity {
  readonly id: string;
  readonly address: string;
  readonly instance: string;
  readonly slots: number;
  readonly kinds: readonly string[];
  /** Commands the `command` handler may run, told to the leader (informational). */
  readonly allowedCommands?: readonly string[] | undefined;
}

/** Raised when the leader could not be reached for longer than `giveUpAfterMs`. */
export class LeaderUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaderUnreachableError';
  }
}

/**
 * The leader refused Join because another live worker process uses this id. Retrying
 * cannot help (the other process keeps it): it is a configuration error, and the CLI exits
 * 2 with this one line (issue #14).
 */
export class WorkerIdInUseError extends ConflictError {
  constructor(id: string, details: string) {
    super(
      `worker id "${id}" is already in use by another worker process (${details}); ` +
        'give each worker its own --id (DROVER_WORKER_ID)',
    );
    this.name = 'WorkerIdInUseError';
  }
}

/** Raised when the leader refuses the worker's Join as invalid (a bad id, too many slots). */
export class WorkerRefusedError extends InvalidArgumentError {
  constructor(details: string) {
    super(`the leader refused this worker: ${details}; fix the worker's settings`);
    this.name = 'WorkerRefusedError';
  }
}

/** How a heartbeat stream ended. */
interface StreamEnd {
  readonly serial: number;
  readonly code: number | undefined;
  readonly details: string;
  readonly lastedMs: number;
}

const CALL_DEADLINE_MS = 5_000;

/**
 * The worker's connection to the leader: Join, then one Heartbeat stream that carries
 * heartbeats up and work down. When the stream breaks it joins again (trying each leader
 * address in turn, with capped exponential backoff and jitter) and its first heartbeat
 * lists what it still runs, so the leader re-attaches that work instead of re-running it.
 */
export class LeaderLink {
  private channel: Channel | undefined;
  private leaderClient: LeaderServiceClient | undefined;
  private stream: ClientDuplexStream<HeartbeatRequest, HeartbeatResponse> | undefined;
  private draining = false;
  private failedReason: string | undefined;
  /** Output of running attempts not yet sent (best effort: dropped while disconnected). */
  private readonly pendingOutput = new OutputBuffer();
  /** Reports not yet acknowledged; each goes out once per stream, a bounded number of times. */
  private readonly reports = new ReportBook();
  private flushScheduled = false;
  /** Numbers the heartbeat streams, so reports are re-sent once on each new one. */
  private streamSerial = 0;
  /** The secret this process's Join returned; every heartbeat carries it. */
  private session = '';
  /** Set by leave(): the run loop must not join again. */
  private left = false;
  private connected: (() => void) | undefined;
  /** Resolves on the first successful Join. */
  readonly joined: Promise<void>;
  private readonly log: Logger;

  constructor(
    private readonly addresses: readonly string[],
    private readonly credentials: ChannelCredentials,
    private readonly identity: WorkerIdentity,
    private readonly runner: TaskRunner,
    private readonly policy: ReconnectPolicy,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'leader-link' });
    this.joined = new Promise((resolve) => (this.connected = resolve));
  }

  /**
   * Keeps a session with the leader until `signal` aborts. Rejects with
   * LeaderUnreachableError when no leader answered for `giveUpAfterMs`.
   */
  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.joinUntilStopped(signal);
    } finally {
      // Also when giving up: no channel, timer or report may outlive the link.
      this.closeChannel();
      this.abandonReports();
    }
  }

  private async joinUntilStopped(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let lastContactMs = performance.now();
    // Bounded by the give-up deadline (every round either reaches a leader or fails).
    for (let round = 0; !signal.aborted && !this.left; round++) {
      const address = this.addresses[round % this.addresses.length]!;
      try {
        const join = await this.connect(address, signal);
        lastContactMs = performance.now();
        this.connected?.();
        const end = await this.heartbeatUntilClosed(join, signal);
        lastContactMs = performance.now();
        this.onStreamEnd(end);
        // A stream the leader ends at once is no success: back off as after a failure.
        failures = streamWasStable(end.lastedMs) ? 0 : failures + 1;
      } catch (err) {
        if (signal.aborted) break;
        if ((err as Partial<ServiceError>).code === status.ALREADY_EXISTS) {
          throw new WorkerIdInUseError(this.identity.id, (err as ServiceError).details);
        }
        if ((err as Partial<ServiceError>).code === status.INVALID_ARGUMENT) {
          // The leader answered and refused what this worker claims (its id, slots, kinds):
          // a configuration error that no retry can fix.
          throw new WorkerRefusedError((err as ServiceError).details);
        }
        failures++;
        this.log.warn({ address, err: errorMessage(err) }, 'leader unreachable');
      }
      if (signal.aborted || this.left) break;
      const silentMs = performance.now() - lastContactMs;
      if (silentMs > this.policy.giveUpAfterMs) {
        throw new LeaderUnreachableError(
          `no leader answered for ${Math.round(silentMs)} ms (tried ${this.addresses.join(', ')})`,
        );
      }
      const delayMs = reconnectDelayMs(failures, this.policy, Math.random);
      await sleep(delayMs, undefined, { signal }).catch(() => {});
    }
  }

  /** A stream ended: reports the leader refused as too large become short failures. */
  private onStreamEnd(end: StreamEnd): void {
    if (end.code !== status.RESOURCE_EXHAUSTED) return;
    for (const outcome of this.reports.refusedAsTooLarge(end.serial, end.details)) {
      this.log.error(
        { taskId: outcome.id, attempt: outcome.attempt, details: end.details },
        'leader refused a report as too large; reporting the attempt failed instead',
      );
    }
  }

  /**
   * Reports this worker FAILED (with why) or healthy again (undefined). While it reports
   * FAILED the leader sends it no new work and lists it as quarantined.
   */
  setFailed(reason: string | undefined): void {
    this.failedReason = reason;
    this.sendHeartbeat();
  }

  /** Tells the leader this worker takes no new work; it keeps heartbeating. */
  drain(): void {
    this.draining = true;
    this.sendHeartbeat();
  }

  /** Leave the cluster (after draining) and close the connection. */
  async leave(): Promise<void> {
    this.left = true;
    const client = this.leaderClient;
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.leave(
        { id: this.identity.id },
        new Metadata(),
        { deadline: deadlineAfter(CALL_DEADLINE_MS) },
        (err) => {
          if (err) this.log.warn({ err: err.message }, 'leave failed');
          resolve();
        },
      );
    });
    this.stream?.end();
  }

  /**
   * Reports the end of an attempt on the heartbeat stream, batched with other reports, and
   * resolves once the leader has acknowledged it (accepted, or refused as stale). Until then
   * the report is kept and sent again on every new stream, so a leader that was away gets it,
   * but on at most MAX_REPORT_SENDS streams: one that can never be delivered is dropped.
   */
  report(outcome: AttemptOutcome): Promise<void> {
    const answered = this.reports.add(outcome);
    this.scheduleFlush();
    return answered;
  }

  /**
   * Sends a piece of an attempt's output to the leader with the next messages, cut into
   * pieces so no message nears the leader's message-size limit (a message over it would
   * end the stream and make this worker dead).
   */
  output(id: string, attempt: number, stream: string, data: string): void {
    if (!this.stream) return;
    this.pendingOutput.push(id, attempt, stream, data);
    this.scheduleFlush();
  }

  /** Sends unsent reports soon, coalescing everything that ends in this event-loop turn. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.sendHeartbeat();
    });
  }

  private onAcks(acks: readonly FinishedAck[]): void {
    for (const ack of acks) {
      if (this.reports.answered(ack.id, ack.attempt) && !ack.accepted) {
        this.log.warn(
          { taskId: ack.id, attempt: ack.attempt, code: ack.code, details: ack.reason },
          'report refused',
        );
      }
    }
  }

  /** Drops reports that can no longer be delivered (the link stopped). */
  private abandonReports(): void {
    for (const outcome of this.reports.abandonAll()) {
      this.log.error({ taskId: outcome.id, attempt: outcome.attempt }, 'report dropped: no leader');
    }
  }

  private async connect(address: string, signal: AbortSignal): Promise<JoinResponse> {
    this.closeChannel();
    // One channel (one HTTP/2 connection) for both services: the heartbeat stream and
    // completion reports share fate.
    const channel = new Channel(address, this.credentials, {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.channel = channel;
    this.leaderClient = new LeaderServiceClient(address, this.credentials, {
      channelOverride: channel,
    });
    const client = this.leaderClient;
    const join = await new Promise<JoinResponse>((resolve, reject) => {
      const call = client.join(
        {
          id: this.identity.id,
          address: this.identity.address,
          slots: this.identity.slots,
          kinds: [...this.identity.kinds],
          instance: this.identity.instance,
          allowedCommands: [...(this.identity.allowedCommands ?? [])],
        },
        new Metadata(),
        { deadline: deadlineAfter(CALL_DEADLINE_MS) },
        (err, response) => {
          // Removed once answered: one listener per join piled up on the worker's
          // long-lived signal (MaxListenersExceededWarning, issue #14).
          signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(response);
        },
      );
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
    this.log.info(
      { address, slots: this.identity.slots, kinds: this.identity.kinds },
      'worker joined',
    );
    return join;
  }

  private heartbeatUntilClosed(join: JoinResponse, signal: AbortSignal): Promise<StreamEnd> {
    return new Promise((resolve) => {
      const stream = this.leaderClient!.heartbeat();
      this.stream = stream;
      this.session = join.session;
      const serial = ++this.streamSerial;
      const openedAtMs = performance.now();
      const timer = setInterval(() => this.sendHeartbeat(), join.heartbeatIntervalMs);
      let finished = false;
      const finish = (code: number | undefined, details: string): void => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.stream === stream) this.stream = undefined;
        this.log.info({ reason: details, code }, 'heartbeat stream closed');
        resolve({ serial, code, details, lastedMs: performance.now() - openedAtMs });
      };
      const onAbort = (): void => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (message: HeartbeatResponse) => {
        this.onAcks(message.acks);
        for (const start of message.start) this.runner.start(start);
        for (const stop of message.stop) {
          this.log.info(
            { taskId: stop.id, attempt: stop.attempt, reason: stop.reason },
            'stop received',
          );
          this.runner.stop(stop.id, stop.attempt, stop.reason);
        }
      });
      stream.on('error', (err: ServiceError) => finish(err.code, err.details || err.message));
      stream.on('end', () => finish(undefined, 'leader ended the stream'));
      // The first heartbeat names the member and lists what it runs (re-attach).
      this.sendHeartbeat();
    });
  }

  /** One heartbeat: liveness, what runs, and every report not yet sent on this stream. */
  private sendHeartbeat(): void {
    // At most OUTPUT_MESSAGE_BYTES of output per message; the rest goes on the next turn.
    const output = this.pendingOutput.take(OUTPUT_MESSAGE_BYTES);
    if (!this.stream) {
      this.pendingOutput.clear();
      return;
    }
    if (this.pendingOutput.size > 0) this.scheduleFlush();
    const running = this.runner.running;
    // A report waits for its attempt's output to be sent: the leader keeps output only while
    // the attempt is current, and the report ends it.
    const outputLeft = this.pendingOutput.attemptsWaiting();
    const batch = this.reports.take(this.streamSerial, REPORT_MESSAGE_BYTES, (key) =>
      outputLeft.has(key),
    );
    for (const outcome of batch.dropped) {
      this.log.error(
        { taskId: outcome.id, attempt: outcome.attempt },
        'report dropped: no leader answered it on any of its streams',
      );
    }
    if (batch.more) this.scheduleFlush();
    const finished = batch.send.map(({ id, attempt, result, error, permanent }) => ({
      id,
      attempt,
      result,
      error,
      permanent: permanent === true,
    }));
    this.stream.write({
      id: this.identity.id,
      session: this.session,
      status:
        this.failedReason !== undefined
          ? HeartbeatStatus.HEARTBEAT_STATUS_FAILED
          : running.length > 0
            ? HeartbeatStatus.HEARTBEAT_STATUS_BUSY
            : HeartbeatStatus.HEARTBEAT_STATUS_IDLE,
      statusReason: this.failedReason ?? '',
      freeSlots: this.runner.freeSlots,
      running,
      draining: this.draining,
      finished,
      output,
    });
  }

  private closeChannel(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.leaderClient?.close();
    this.channel?.close();
    this.channel = undefined;
    this.leaderClient = undefined;
  }
}
