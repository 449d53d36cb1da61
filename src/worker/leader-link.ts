import {
  status,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  HeartbeatRequest,
  HeartbeatResponse,
  JoinResponse,
} from '../gen/cluster/v1/leader.js';
import { LeaderRotation } from '../client/leader-rotation.js';
import { leaderHint, refusedByStandby } from '../shared/leader-hint.js';
import { ReconnectSchedule, type ReconnectPolicy } from './backoff.js';
import { buildHeartbeat } from './heartbeat.js';
import { KeyFence } from './key-fence.js';
import {
  callJoin,
  callLeave,
  openLeaderConnection,
  type LeaderConnection,
  type WorkerIdentity,
} from './leader-calls.js';
import { systemLinkDeps, type LinkDeps } from './link-deps.js';
import { describeFailure, joinRefusal, LeaderUnreachableError } from './link-errors.js';
import type { AttemptOutcome } from './outcome.js';
import { Outbox } from './outbox.js';
import type { TaskRunner } from './runner.js';
import { followWorkOrders } from './work-orders.js';

/** What the link needs of the runner: what runs, free slots, starting, stopping, recalls. */
export type LinkRunner = Pick<
  TaskRunner,
  | 'running'
  | 'begun'
  | 'runningCount'
  | 'freeSlots'
  | 'start'
  | 'stop'
  | 'fence'
  | 'gateKeyed'
  | 'recall'
>;

/** Settings of a {@link LeaderLink}. */
export interface LeaderLinkOptions {
  /**
   * Leader addresses, tried in turn; a refusal naming the active leader (drover-leader
   * trailer) sends the next Join there, listed or not.
   */
  readonly addresses: readonly string[];
  readonly credentials: ChannelCredentials;
  /** The join token every call carries, when the leader needs one. */
  readonly token?: string | undefined;
  readonly identity: WorkerIdentity;
  readonly runner: LinkRunner;
  readonly policy: ReconnectPolicy;
  readonly logger: Logger;
  /** Time, jitter and waiting; Node's where not given. */
  readonly deps?: Partial<LinkDeps>;
}

/** How a heartbeat stream ended. */
interface StreamEnd {
  readonly serial: number;
  readonly code: number | undefined;
  readonly details: string;
  readonly lastedMs: number;
  /** The active leader the stream's end named (a leader stepping down), if any. */
  readonly hint: string | undefined;
}

/**
 * The worker's connection to the leader: Join, then one Heartbeat stream that carries
 * heartbeats up and work down. When the stream breaks it joins again (the leader a refusal
 * named, else each leader address in turn, as its ReconnectSchedule says) and its first
 * heartbeat lists what it still runs, so the leader re-attaches that work instead of
 * re-running it: moving to another leader stops no task.
 */
export class LeaderLink {
  private connection: LeaderConnection | undefined;
  private stream: ClientDuplexStream<HeartbeatRequest, HeartbeatResponse> | undefined;
  private draining = false;
  private failedReason: string | undefined;
  /** Reports and output waiting to go up the stream. */
  private readonly outbox: Outbox;
  private flushScheduled = false;
  /** Numbers the heartbeat streams, so reports are re-sent once on each new one. */
  private streamSerial = 0;
  /** A Join has succeeded in this process: later ones are resumed (JoinRequest.resumed). */
  private joinedBefore = false;
  /** The secret this process's Join returned; every heartbeat carries it. */
  private session = '';
  /** Set by leave(): the run loop must not join again. */
  private left = false;
  private connected: (() => void) | undefined;
  /** Resolves on the first successful Join. */
  readonly joined: Promise<void>;
  private readonly log: Logger;
  private readonly deps: LinkDeps;
  /** Stops keyed attempts when the leader cannot be shown to hear this worker. */
  private readonly fence: KeyFence;

  constructor(private readonly options: LeaderLinkOptions) {
    this.log = options.logger.child({ component: 'leader-link' });
    this.outbox = new Outbox(this.log);
    this.deps = { ...systemLinkDeps, ...options.deps };
    this.fence = new KeyFence({
      monotonicMs: this.deps.monotonicMs,
      fence: (reason) => {
        const stopped = options.runner.fence(reason);
        if (stopped > 0) this.log.warn({ stopped, reason }, 'keyed attempts fenced');
      },
    });
    // Checked again as each keyed attempt starts: one that waited for a slot may start
    // after the deadline, before the fence's own timer has run (both due on one wake-up).
    options.runner.gateKeyed(() => (this.fence.allowsKeyed() ? undefined : this.fence.reason()));
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
      this.fence.stop();
      this.closeChannel();
      this.outbox.abandon();
    }
  }

  private async joinUntilStopped(signal: AbortSignal): Promise<void> {
    const { addresses, policy } = this.options;
    const schedule = new ReconnectSchedule(policy, this.deps.monotonicMs(), this.deps.random);
    const leaders = new LeaderRotation(addresses);
    // Bounded by the give-up deadline (every round either reaches a leader or fails).
    while (!signal.aborted && !this.left) {
      const address = leaders.take();
      const hint = await this.round(address, schedule, signal);
      if (signal.aborted || this.left) break;
      const to = leaders.follow(address, hint);
      const step = schedule.next(this.deps.monotonicMs(), to !== undefined);
      if (step.giveUp) {
        throw new LeaderUnreachableError(
          `no leader answered for ${Math.round(step.silentMs)} ms (tried ${addresses.join(', ')})` +
            (step.lastFailure === undefined ? '' : `; last: ${step.lastFailure}`),
        );
      }
      if (to !== undefined) {
        this.log.info({ from: address, to, delayMs: step.delayMs }, 'following the active leader');
      }
      if (step.delayMs > 0) await this.deps.sleep(step.delayMs, signal);
    }
  }

  /**
   * One round at `address`; resolves with the active leader its refusal or its stream's
   * end named, if any. Rejects only with a refusal no other round can fix.
   */
  private async round(
    address: string,
    schedule: ReconnectSchedule,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    try {
      return await this.holdSession(address, schedule, signal);
    } catch (err) {
      if (signal.aborted) return undefined;
      const refusal = joinRefusal(err, this.options.identity.id);
      if (refusal) throw refusal;
      const byStandby = refusedByStandby(err);
      const failure = describeFailure(address, err);
      if (byStandby) this.log.info(failure.fields, 'refused by a standby');
      else this.log.warn(failure.fields, 'leader unreachable');
      schedule.failed(byStandby, failure.line);
      return leaderHint(err);
    }
  }

  /**
   * One round that reaches a leader: Join, then heartbeat until the stream ends; resolves
   * with the active leader the end named, if any.
   */
  private async holdSession(
    address: string,
    schedule: ReconnectSchedule,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const join = await this.connect(address, signal);
    schedule.joined(this.deps.monotonicMs());
    this.connected?.();
    const end = await this.heartbeatUntilClosed(join, signal);
    schedule.streamEnded(this.deps.monotonicMs(), end.lastedMs);
    // A stream ended: reports the leader refused as too large become short failures.
    if (end.code === status.RESOURCE_EXHAUSTED) {
      this.outbox.refusedAsTooLarge(end.serial, end.details);
    }
    return end.hint;
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
    if (!this.connection) return;
    await callLeave(this.connection.client, this.options.identity.id, this.session, this.log);
    this.stream?.end();
  }

  /**
   * Reports the end of an attempt on the heartbeat stream, batched with other reports, and
   * resolves once the leader has acknowledged it (accepted, or refused as stale). Until then
   * the report is kept and sent again on every new stream, so a leader that was away gets it,
   * but on at most MAX_REPORT_SENDS streams: one that can never be delivered is dropped.
   */
  report(outcome: AttemptOutcome): Promise<void> {
    const answered = this.outbox.report(outcome);
    this.scheduleFlush();
    return answered;
  }

  /**
   * An attempt's handler began: the leader hears it with the next message, so that if this
   * worker is lost it counts the attempt as spent (one it never heard begin is not).
   */
  began(key: string, id: string, attempt: number): void {
    this.outbox.beganAttempt(key, id, attempt);
    this.scheduleFlush();
  }

  /**
   * Sends a piece of an attempt's output to the leader with the next messages, cut into
   * pieces so no message nears the leader's message-size limit (a message over it would
   * end the stream and make this worker dead); without a stream, up the next one.
   */
  output(id: string, attempt: number, stream: string, data: string): void {
    this.outbox.output(id, attempt, stream, data);
    this.scheduleFlush();
  }

  /** Sends unsent reports soon, coalescing everything that ends in this event-loop turn. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // Reports and output only: the running list goes with the interval heartbeats.
      this.sendHeartbeat(false);
    });
  }

  private async connect(address: string, signal: AbortSignal): Promise<JoinResponse> {
    this.closeChannel();
    const { credentials, identity, token } = this.options;
    this.connection = openLeaderConnection(address, credentials, token);
    // Resumed only if every attempt this process ended is accounted for (see Outbox).
    const resumed = this.joinedBefore && this.outbox.everyEndKept;
    const join = await callJoin(this.connection.client, identity, signal, resumed);
    this.joinedBefore = true;
    this.log.info({ address, slots: identity.slots, kinds: identity.kinds }, 'worker joined');
    return join;
  }

  private heartbeatUntilClosed(join: JoinResponse, signal: AbortSignal): Promise<StreamEnd> {
    return new Promise((resolve) => {
      const stream = this.connection!.client.heartbeat();
      this.stream = stream;
      this.session = join.session;
      const serial = ++this.streamSerial;
      this.fence.streamOpened(join.fenceAfterMs);
      this.outbox.streamOpened(serial, join.outputAcks);
      const openedAtMs = this.deps.monotonicMs();
      let lastHeardMs = openedAtMs;
      const timer = setInterval(() => {
        // A leader that answers every heartbeat and has said nothing for the heartbeat
        // timeout is frozen, partitioned or gone: end the stream and move on, rather than
        // wait for TCP keepalive (15 s) while a standby takes over.
        const silentMs = this.deps.monotonicMs() - lastHeardMs;
        if (join.answersHeartbeats && silentMs > join.heartbeatTimeoutMs) {
          stream.cancel();
          finish(undefined, `the leader has not answered for ${Math.round(silentMs)} ms`);
          return;
        }
        this.sendHeartbeat();
      }, join.heartbeatIntervalMs);
      let finished = false;
      const finish = (code: number | undefined, details: string, hint?: string): void => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.stream === stream) this.stream = undefined;
        this.log.info({ reason: details, code }, 'heartbeat stream closed');
        const lastedMs = this.deps.monotonicMs() - openedAtMs;
        resolve({ serial, code, details, lastedMs, hint });
      };
      const onAbort = (): void => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (message: HeartbeatResponse) => {
        lastHeardMs = this.deps.monotonicMs();
        this.outbox.outputSaved(serial, message.outputSavedSerial);
        this.onMessage(message);
      });
      stream.on('error', (err: ServiceError) =>
        finish(err.code, err.details || err.message, leaderHint(err)),
      );
      stream.on('end', () => finish(undefined, 'leader ended the stream'));
      // The first heartbeat names the member and lists what it runs (re-attach).
      this.sendHeartbeat();
    });
  }

  /** Work and answers from the leader. */
  private onMessage(message: HeartbeatResponse): void {
    // First: a start in this message is covered by the proof that comes with it.
    this.fence.heard(message.heardSerial);
    this.outbox.acknowledged(message.acks);
    followWorkOrders(message, { runner: this.options.runner, fence: this.fence, log: this.log });
  }

  /**
   * One heartbeat: liveness, what runs (unless `listRunning` is false: a flush of reports
   * under load would re-send the whole list each time), and every report not yet sent on
   * this stream.
   */
  private sendHeartbeat(listRunning = true): void {
    // Reports and output wait for the next stream.
    if (!this.stream) return;
    const messageSerial = this.fence.nextSend();
    const load = this.outbox.take(this.streamSerial, messageSerial);
    if (load.more) this.scheduleFlush();
    const beganSinceLast = this.outbox.takeBegan();
    const { runner, identity } = this.options;
    const state = {
      id: identity.id,
      session: this.session,
      failedReason: this.failedReason,
      draining: this.draining,
      running: listRunning ? [...runner.running, ...this.outbox.endedUnreported(load.reports)] : [],
      // The full list with the running one: a notice lost with a broken stream is repaired.
      began: listRunning ? runner.begun : beganSinceLast,
      runningCount: runner.runningCount,
      freeSlots: runner.freeSlots,
    };
    this.stream.write(buildHeartbeat(state, load, messageSerial));
  }

  private closeChannel(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.connection?.client.close();
    this.connection?.channel.close();
    this.connection = undefined;
  }
}
