import { setTimeout as sleep } from 'node:timers/promises';
import {
  Channel,
  Metadata,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  HeartbeatStatus,
  LeaderServiceClient,
  type FinishedAck,
  type FinishedTask,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type JoinResponse,
  type OutputChunk,
} from '../gen/cluster/v1/leader.js';
import { deadlineAfter } from '../shared/clock.js';
import { errorMessage } from '../shared/errors.js';
import type { AttemptOutcome, TaskRunner } from './runner.js';

/** Backoff and give-up settings for reaching the leader. */
export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Stop trying (and fail) after this long without a leader. */
  readonly giveUpAfterMs: number;
}

/** Longest piece of output in one chunk, in UTF-16 units (at most 3 UTF-8 bytes each). */
const OUTPUT_PIECE_CHARS = 8 * 1024;
/**
 * Output bytes per heartbeat message: a quarter of the smallest message limit a leader has
 * (4 MiB), leaving room for reports, so output can never get a message refused.
 */
const OUTPUT_MESSAGE_BYTES = 1024 * 1024;

/** Cuts text into pieces of at most `most` units, never between a surrogate pair. */
export function splitText(text: string, most: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  // Bounded: each step moves on by at least one unit.
  while (start < text.length) {
    let end = Math.min(start + most, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - start > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

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
  private pendingOutput: OutputChunk[] = [];
  /** Reports not yet acknowledged, by attempt; `sentOnStream` is the stream they went out on. */
  private readonly unacked = new Map<
    string,
    { outcome: AttemptOutcome; sentOnStream: number; resolve: () => void }
  >();
  private flushScheduled = false;
  /** Numbers the heartbeat streams, so reports are re-sent once on each new one. */
  private streamSerial = 0;
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
    let failures = 0;
    let lastContactMs = performance.now();
    for (let round = 0; !signal.aborted && !this.left; round++) {
      const address = this.addresses[round % this.addresses.length]!;
      try {
        const join = await this.connect(address, signal);
        failures = 0;
        lastContactMs = performance.now();
        this.connected?.();
        await this.heartbeatUntilClosed(join, signal);
        lastContactMs = performance.now();
      } catch (err) {
        if (signal.aborted) break;
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
      const capMs = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** failures);
      // Full jitter: a leader restart should not see every worker reconnect in lockstep.
      await sleep(failures === 0 ? 0 : Math.random() * capMs, undefined, { signal }).catch(
        () => {},
      );
    }
    this.closeChannel();
    this.abandonReports();
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
   * the report is kept and sent again on every new stream, so a leader that was away gets it.
   */
  report(outcome: AttemptOutcome): Promise<void> {
    return new Promise((resolve) => {
      this.unacked.set(attemptKey(outcome.id, outcome.attempt), {
        outcome,
        sentOnStream: 0,
        resolve,
      });
      this.scheduleFlush();
    });
  }

  /**
   * Sends a piece of an attempt's output to the leader with the next messages, cut into
   * pieces so no message nears the leader's message-size limit (a message over it would
   * end the stream and make this worker dead).
   */
  output(id: string, attempt: number, stream: string, data: string): void {
    if (!this.stream) return;
    for (const piece of splitText(data, OUTPUT_PIECE_CHARS)) {
      this.pendingOutput.push({ id, attempt, stream, data: piece });
    }
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
      const key = attemptKey(ack.id, ack.attempt);
      const pending = this.unacked.get(key);
      if (!pending) continue;
      this.unacked.delete(key);
      if (!ack.accepted) {
        this.log.warn(
          { taskId: ack.id, attempt: ack.attempt, code: ack.code, details: ack.reason },
          'report refused',
        );
      }
      pending.resolve();
    }
  }

  /** Drops reports that can no longer be delivered (the link stopped). */
  private abandonReports(): void {
    for (const { outcome, resolve } of this.unacked.values()) {
      this.log.error({ taskId: outcome.id, attempt: outcome.attempt }, 'report dropped: no leader');
      resolve();
    }
    this.unacked.clear();
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
        (err, response) => (err ? reject(err) : resolve(response)),
      );
      signal.addEventListener('abort', () => call.cancel(), { once: true });
    });
    this.log.info(
      { address, slots: this.identity.slots, kinds: this.identity.kinds },
      'worker joined',
    );
    return join;
  }

  private heartbeatUntilClosed(join: JoinResponse, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const stream = this.leaderClient!.heartbeat();
      this.stream = stream;
      this.streamSerial++;
      const timer = setInterval(() => this.sendHeartbeat(), join.heartbeatIntervalMs);
      let finished = false;
      const finish = (reason: string): void => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.stream === stream) this.stream = undefined;
        this.log.info({ reason }, 'heartbeat stream closed');
        resolve();
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
      stream.on('error', (err: ServiceError) => finish(err.details || err.message));
      stream.on('end', () => finish('leader ended the stream'));
      // The first heartbeat names the member and lists what it runs (re-attach).
      this.sendHeartbeat();
    });
  }

  /** One heartbeat: liveness, what runs, and every report not yet sent on this stream. */
  private sendHeartbeat(): void {
    // At most OUTPUT_MESSAGE_BYTES of output per message; the rest goes on the next turn.
    let budget = OUTPUT_MESSAGE_BYTES;
    let take = 0;
    while (take < this.pendingOutput.length) {
      budget -= this.pendingOutput[take]!.data.length * 3; // UTF-8 bytes, at most
      if (budget < 0 && take > 0) break;
      take++;
    }
    const output = this.pendingOutput.splice(0, take);
    if (!this.stream) {
      this.pendingOutput = [];
      return;
    }
    if (this.pendingOutput.length > 0) this.scheduleFlush();
    const running = this.runner.running;
    const finished: FinishedTask[] = [];
    // A report waits for its attempt's output to be sent: the leader keeps output only while
    // the attempt is current, and the report ends it.
    const outputLeft = new Set(this.pendingOutput.map((o) => attemptKey(o.id, o.attempt)));
    for (const [key, pending] of this.unacked) {
      if (pending.sentOnStream === this.streamSerial || outputLeft.has(key)) continue;
      pending.sentOnStream = this.streamSerial;
      const { id, attempt, result, error, permanent } = pending.outcome;
      finished.push({ id, attempt, result, error, permanent: permanent === true });
    }
    this.stream.write({
      id: this.identity.id,
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

function attemptKey(id: string, attempt: number): string {
  return `${id}#${attempt}`;
}
