import { Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { Option, type Command } from 'commander';
import { LeaderServiceClient } from '../gen/cluster/v1/leader.js';
import { SchedulerServiceClient } from '../gen/scheduler/v1/scheduler.js';
import { deadlineAfter } from '../shared/clock.js';
import { errorMessage, InvalidArgumentError } from '../shared/errors.js';
import { formatHostPort, parseHostPort } from '../shared/net.js';
import { channelCredentials } from '../shared/tls.js';
import { boundedIntOption, MAX_TIMER_MS } from './int-option.js';

/** Options every client command takes. */
export interface ClientOptions {
  readonly leader: string;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly tlsCa?: string;
  readonly tls?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** Clients for both services on one connection, with the call deadline to use. */
export interface LeaderClients {
  readonly address: string;
  readonly leader: LeaderServiceClient;
  readonly scheduler: SchedulerServiceClient;
  readonly timeoutMs: number;
  close(): void;
}

/** Adds --leader, --timeout-ms, --json and TLS options to a client command. */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--leader <host:port>', 'leader address')
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
    .addOption(new Option('--tls-key <file>', 'PEM key of --tls-cert').env('DROVER_TLS_KEY'));
}

/** Connects to the leader named by the options. */
export function connect(options: ClientOptions): LeaderClients {
  // A DROVER_LEADER list (as workers take) uses its first address here.
  const address = formatHostPort(parseHostPort(options.leader.split(',')[0]!));
  const tlsOn =
    options.tls === true || options.tlsCa !== undefined || options.tlsCert !== undefined;
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  let creds: ChannelCredentials;
  try {
    creds = channelCredentials(
      tlsOn
        ? { caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey }
        : undefined,
    );
  } catch (err) {
    // A missing or unreadable PEM file is a setting to fix (exit 2), not a crash to trace.
    throw new InvalidArgumentError(`cannot use the TLS files: ${errorMessage(err)}`);
  }
  const leader = new LeaderServiceClient(address, creds);
  const scheduler = new SchedulerServiceClient(address, creds, {
    channelOverride: leader.getChannel(),
  });
  return {
    address,
    leader,
    scheduler,
    timeoutMs: options.timeoutMs,
    close: () => leader.close(),
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a unary method with the client's deadline; rejects with the ServiceError. */
export function call<Req, Res>(
  clients: LeaderClients,
  method: UnaryMethod<Req, Res>,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(
      request,
      new Metadata(),
      { deadline: deadlineAfter(clients.timeoutMs) },
      (err, response) => (err ? reject(err) : resolve(response)),
    );
  });
}

/** Exit codes: documented in the README's CLI section. */
export const EXIT = { refused: 1, usage: 2, unreachable: 3 } as const;

/** A person-readable message and exit code for an error from a call. */
export function describeCallError(
  err: unknown,
  address: string,
): { message: string; exitCode: number } {
  const e = err as Partial<ServiceError>;
  if (typeof e.code !== 'number') {
    return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT.refused };
  }
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) {
    return {
      message: `cannot reach the leader at ${address}: ${e.details ?? e.message} (is it running? see --leader)`,
      exitCode: EXIT.unreachable,
    };
  }
  const name = status[e.code] ?? String(e.code);
  return { message: `${e.details ?? e.message} (${name})`, exitCode: EXIT.refused };
}

/**
 * Runs a client command: connects, runs `body`, and turns any failure into a message on
 * stderr and a non-zero exit code.
 */
export async function withClients(
  options: ClientOptions,
  body: (clients: LeaderClients) => Promise<void>,
): Promise<void> {
  const clients = connect(options);
  try {
    await body(clients);
  } catch (err) {
    const { message, exitCode } = describeCallError(err, clients.address);
    process.stderr.write(`drover: ${message}\n`);
    process.exitCode = exitCode;
  } finally {
    clients.close();
  }
}
