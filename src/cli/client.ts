import {
  InterceptingCall,
  status,
  type ChannelCredentials,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { LeaderServiceClient } from '../gen/cluster/v1/leader.js';
import { SchedulerServiceClient } from '../gen/scheduler/v1/scheduler.js';
import { unaryCall, type UnaryMethod } from '../shared/unary-call.js';
import { errorMessage, InvalidArgumentError } from '../shared/errors.js';
import { leaderHint } from '../shared/leader-hint.js';
import { formatHostPort, parseHostPort } from '../shared/net.js';
import { channelCredentials } from '../shared/tls.js';
import { boundedIntOption, MAX_TIMER_MS } from './int-option.js';
import { bearerInterceptor } from '../shared/bearer-token.js';
import { tokenFrom } from '../shared/token-text.js';
import { LeaderTries } from './leader-tries.js';
import { connectionDetails, sentByLeader, unreachableHint } from '../shared/connection-details.js';

/** Options every client command takes. */
export interface ClientOptions {
  readonly leader: string;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly tlsCa?: string;
  readonly tls?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** An API token, sent as `authorization: Bearer` on every call (issue #20). */
  readonly token?: string;
  /** A file whose first line is the token (instead of `token`). */
  readonly tokenFile?: string;
}

/** How to reach a leader: the channel's credentials and the token calls carry, if any. */
export interface Access {
  readonly creds: ChannelCredentials;
  readonly token: string | undefined;
}

/** Clients for both services on one connection, with the call deadline to use. */
export interface LeaderClients {
  readonly address: string;
  readonly leader: LeaderServiceClient;
  readonly scheduler: SchedulerServiceClient;
  readonly timeoutMs: number;
  /**
   * Whether any call on these clients got a message back: a command that failed after
   * that is not run again on another leader (it may have printed, or changed something).
   */
  readonly answered: boolean;
  close(): void;
}

/** Adds --leader, --timeout-ms, --json and TLS options to a client command. */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--leader <host:port>', 'leader address (a comma list: tried in turn)')
        .env('DROVER_LEADER')
        .default('127.0.0.1:50051'),
    )
    .addOption(
      boundedIntOption(
        '--timeout-ms <ms>',
        'give up on the leader after this long',
        { min: 1, max: MAX_TIMER_MS },
        { env: 'DROVER_TIMEOUT_MS', defaultValue: 5000 },
      ),
    )
    .addOption(
      new Option('--json', 'print JSON (the proto JSON mapping) for scripts').default(false),
    )
    .addOption(
      new Option('--tls-ca <file>', "PEM CA that signed the leader's cert; enables TLS").env(
        'DROVER_TLS_CA',
      ),
    )
    .addOption(new Option('--tls', 'use TLS with the system CAs').env('DROVER_TLS').default(false))
    .addOption(
      new Option(
        '--tls-cert <file>',
        'PEM client certificate, for a leader that requires mTLS',
      ).env('DROVER_TLS_CERT'),
    )
    .addOption(new Option('--tls-key <file>', 'PEM key of --tls-cert').env('DROVER_TLS_KEY'))
    .addOption(
      new Option(
        '--token <token>',
        'API token, for a leader with tokens (drover token create)',
      ).env('DROVER_TOKEN'),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        'read the API token from this file (kept off the command line ps shows)',
      ).env('DROVER_TOKEN_FILE'),
    );
}

/** Connects to the first leader the options name (`drover dev`'s own leader). */
export function connect(options: ClientOptions): LeaderClients {
  const [first] = leaderAddresses(options.leader);
  return connectTo(first!, access(options), options.timeoutMs);
}

/**
 * The leader addresses of `--leader` (a comma list), as host:port; a malformed one is a
 * usage error before any call. Empty entries (a trailing comma) are skipped.
 */
export function leaderAddresses(leader: string): string[] {
  const entries = leader.split(',');
  const given = entries.filter((entry) => entry.trim() !== '');
  // All empty: parse the first anyway, so it fails with the message it always gave.
  return (given.length > 0 ? given : entries.slice(0, 1)).map((entry) =>
    formatHostPort(parseHostPort(entry)),
  );
}

/** The credentials and token the options ask for. */
export function access(options: ClientOptions): Access {
  const flags = { token: '--token', file: '--token-file' };
  return {
    creds: clientCredentials(options),
    token: tokenFrom(options.token, options.tokenFile, flags),
  };
}

/** The channel credentials the TLS options ask for; a bad combination is a usage error. */
function clientCredentials(options: ClientOptions): ChannelCredentials {
  const tlsOn =
    options.tls === true || options.tlsCa !== undefined || options.tlsCert !== undefined;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  try {
    return channelCredentials(
      tlsOn
        ? { caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey }
        : undefined,
    );
  } catch (err) {
    // A missing or unreadable PEM file is a setting to fix (exit 2), not a crash to trace.
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`cannot use the TLS files: ${errorMessage(err)}`);
  }
}

/** Clients for both services of the leader at `address`, on one channel. */
export function connectTo(
  address: string,
  { creds, token }: Access,
  timeoutMs: number,
  /** Channel options (keepalive for a long watch). */
  channelOptions: Readonly<Record<string, number>> = {},
): LeaderClients {
  let answered = false;
  const interceptors = [
    onAnswer(() => (answered = true)),
    ...(token === undefined ? [] : [bearerInterceptor(token)]),
  ];
  const leader = new LeaderServiceClient(address, creds, { ...channelOptions, interceptors });
  const scheduler = new SchedulerServiceClient(address, creds, {
    channelOverride: leader.getChannel(),
    interceptors,
  });
  return {
    address,
    leader,
    scheduler,
    timeoutMs,
    get answered() {
      return answered;
    },
    close: () => leader.close(),
  };
}

/** An interceptor that calls `noted` whenever a call (unary or stream) gets a message. */
function onAnswer(noted: () => void): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) =>
        next(metadata, {
          onReceiveMessage: (message: unknown, nextMessage: (message: unknown) => void) => {
            // grpc-js passes null on a unary call that ended without a response message.
            if (message !== null) noted();
            nextMessage(message);
          },
        }),
    });
}

/** Calls a unary method with the client's deadline; rejects with the ServiceError. */
export function call<Req, Res>(
  clients: LeaderClients,
  method: UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return unaryCall(method, request, clients.timeoutMs);
}

/** Exit codes: documented in the README's CLI section. */
export const EXIT = {
  refused: 1,
  usage: 2,
  unreachable: 3,
  /** `--wait`: the task failed for good or was cancelled. */
  taskFailed: 4,
  /** `--wait-timeout` passed before the task ended. */
  waitTimedOut: 5,
} as const;

/** A person-readable message and exit code for an error from a call. */
export function describeCallError(
  err: unknown,
  address: string,
  /** It was refused before another leader answered: no advice to retry. */
  earlier = false,
): { message: string; exitCode: number } {
  const e = err as Partial<ServiceError>;
  if (typeof e.code !== 'number') {
    return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT.refused };
  }
  if (e.code === status.UNAVAILABLE && sentByLeader(e)) {
    // The leader answered: a standby, or one whose database is away. Not a network fault.
    return {
      message: `the leader at ${address} cannot serve it now: ${e.details ?? e.message} (UNAVAILABLE${earlier ? '' : '; retry shortly'})`,
      exitCode: EXIT.unreachable,
    };
  }
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) {
    const details = connectionDetails(e.details ?? e.message ?? '');
    const hint =
      e.code === status.DEADLINE_EXCEEDED
        ? 'no answer in time: is that a drover leader, and is it running, not frozen or overloaded? see --leader, --timeout-ms'
        : unreachableHint(details);
    return {
      message: `cannot reach the leader at ${address}: ${details} (${hint})`,
      exitCode: EXIT.unreachable,
    };
  }
  const name = status[e.code] ?? String(e.code);
  return { message: `${e.details ?? e.message} (${name})`, exitCode: EXIT.refused };
}

/** Why a command failed: the error, and the leader (or leaders tried) to name with it. */
export interface CommandFailure {
  readonly err: unknown;
  readonly address: string;
  /** The leaders tried before, each with why it could not do it (several listed). */
  readonly earlier?: readonly { readonly address: string; readonly err: unknown }[];
}

/**
 * Runs `body` against the leaders `addresses`, in the order {@link LeaderTries} gives: a
 * body that fails with UNAVAILABLE (a standby's refusal, a leader that cannot be reached)
 * or DEADLINE_EXCEEDED (a frozen leader) before any answer runs again on the leader the refusal named, else on the next one.
 * Streams are thus moved only before their first message. Resolves with the failure to
 * report, or undefined when `body` succeeded.
 */
export async function runOnLeaders(
  addresses: readonly string[],
  link: Access,
  timeoutMs: number,
  body: (clients: LeaderClients) => Promise<void>,
): Promise<CommandFailure | undefined> {
  const tries = new LeaderTries(addresses);
  const earlier: { address: string; err: unknown }[] = [];
  // Bounded: LeaderTries hands out each listed leader once, plus at most MAX_HINT_HOPS.
  for (let address = tries.first(); ;) {
    const failure = await runOnce(address, link, timeoutMs, body);
    if (failure === undefined) return undefined;
    const next = failure.movable ? tries.after(address, leaderHint(failure.err)) : undefined;
    if (next === undefined) {
      const last = { err: failure.err, address: tries.describe(address) };
      return earlier.length === 0 ? last : { ...last, earlier };
    }
    earlier.push({ address, err: failure.err });
    address = next;
  }
}

/**
 * Runs `body` once on the leader at `address`. A failure is `movable` when another leader
 * may do it: UNAVAILABLE before any answer (nothing was printed, and a leader that
 * refused or could not be reached changed nothing).
 */
async function runOnce(
  address: string,
  link: Access,
  timeoutMs: number,
  body: (clients: LeaderClients) => Promise<void>,
): Promise<{ err: unknown; movable: boolean } | undefined> {
  const clients = connectTo(address, link, timeoutMs);
  try {
    await body(clients);
    return undefined;
  } catch (err) {
    // A leader that refused, could not be reached, or said nothing within the timeout (a
    // frozen one, whose connection the kernel still holds open): the next one may answer.
    const code = (err as Partial<ServiceError> | null)?.code;
    const noAnswer = code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
    return { err, movable: noAnswer && !clients.answered };
  } finally {
    clients.close();
  }
}

/**
 * Runs a client command: connects, runs `body` (on the next leader of a `--leader` list
 * while they refuse, see {@link runOnLeaders}), and turns any failure into a message on
 * stderr and a non-zero exit code.
 */
export async function withClients(
  options: ClientOptions,
  body: (clients: LeaderClients) => Promise<void>,
): Promise<void> {
  // Bad addresses or TLS files throw here: usage errors (exit 2), before any call.
  const addresses = leaderAddresses(options.leader);
  const failure = await runOnLeaders(addresses, access(options), options.timeoutMs, body);
  if (!failure) return;
  const { message, exitCode } = describeCallError(failure.err, failure.address);
  process.stderr.write(`drover: ${message}\n`);
  // Each leader tried before says why too: the last one's reason alone may mislead.
  for (const { address, err } of failure.earlier ?? []) {
    process.stderr.write(`drover: before that, ${describeCallError(err, address, true).message}\n`);
  }
  process.exitCode = exitCode;
}
