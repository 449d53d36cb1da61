import { Channel, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { LeaderServiceClient, type JoinResponse } from '../gen/cluster/v1/leader.js';
import { bearerInterceptor } from '../shared/bearer-token.js';
import { deadlineAfter } from '../shared/clock.js';

/**
 * Deadline of a Join or Leave call. Join does no I/O on a live leader (well under 100 ms
 * even when many workers join at once); a frozen one must not hold the worker for long
 * while a standby takes over (issue #16).
 */
const CALL_DEADLINE_MS = 2_000;

/** Who this worker is, as it tells the leader on Join. */
export interface WorkerIdentity {
  readonly id: string;
  readonly address: string;
  readonly instance: string;
  readonly slots: number;
  readonly kinds: readonly string[];
  /** Commands the `command` handler may run, told to the leader (informational). */
  readonly allowedCommands?: readonly string[] | undefined;
  /** How long its attempts may outlive it (JoinRequest.loss_fence_ms); default 0. */
  readonly lossFenceMs?: number | undefined;
}

/** A client of one leader and the channel under it; closing the channel ends both. */
export interface LeaderConnection {
  readonly channel: Channel;
  readonly client: LeaderServiceClient;
}

/** Opens a channel to the leader at `address`. */
export function openLeaderConnection(
  address: string,
  credentials: ChannelCredentials,
  token?: string,
): LeaderConnection {
  // One channel (one HTTP/2 connection) for both services: the heartbeat stream and
  // completion reports share fate.
  const channel = new Channel(address, credentials, {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // grpc-js's retry layer copies every message of a call into a buffer until the call
    // commits, for the whole life of the heartbeat stream (profiled as a share of a busy
    // worker's CPU and garbage). Turning it off also ends transparent retries (of a call
    // the leader refused before reading it, as when it closes a connection): the worker
    // does without, since a failed Join or stream is retried by the link itself (a new
    // Join on its backoff, reports re-sent on the new stream), and a failed Leave only
    // means the leader learns of the exit from the stream's end instead.
    'grpc.enable_retries': 0,
  });
  const client = new LeaderServiceClient(address, credentials, {
    channelOverride: channel,
    ...(token === undefined ? {} : { interceptors: [bearerInterceptor(token)] }),
  });
  return { channel, client };
}

/**
 * Joins the leader as `identity` (`resumed`: this process joined before, see
 * JoinRequest.resumed); rejects with the call's ServiceError, or on abort.
 */
export function callJoin(
  client: LeaderServiceClient,
  identity: WorkerIdentity,
  signal: AbortSignal,
  resumed: boolean,
): Promise<JoinResponse> {
  return new Promise<JoinResponse>((resolve, reject) => {
    const call = client.join(
      {
        id: identity.id,
        address: identity.address,
        slots: identity.slots,
        kinds: [...identity.kinds],
        instance: identity.instance,
        allowedCommands: [...(identity.allowedCommands ?? [])],
        // The runner waits out StartWorkRequest.start_in_ms (see start-times.ts).
        timedStarts: true,
        beganNotices: true,
        lossFenceMs: identity.lossFenceMs ?? 0,
        resumed,
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
}

/**
 * Tells the leader member `id` leaves, with the session its Join returned (a leader with
 * tokens needs it); a failure is logged, never thrown.
 */
export function callLeave(
  client: LeaderServiceClient,
  id: string,
  session: string,
  log: Logger,
): Promise<void> {
  return new Promise<void>((resolve) => {
    client.leave(
      { id, session },
      new Metadata(),
      { deadline: deadlineAfter(CALL_DEADLINE_MS) },
      (err) => {
        if (err) log.warn({ err: err.message }, 'leave failed');
        resolve();
      },
    );
  });
}
