import { errorMessage } from './errors.js';
import { refusedByStandby } from './leader-hint.js';

/**
 * grpc-js's connection failure as a person reads it: without its empty "Resolution note:",
 * the "Error: " it puts before the system error it quotes, the time it stamps a protocol
 * error with, and the per-phase timings after a deadline.
 */
export function connectionDetails(details: string): string {
  return details
    .replace(/\.? Resolution note:\s*$/, '')
    .replace(/Last error: Error: /, 'Last error: ')
    .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, '')
    .replace(/(Deadline exceeded after [\d.]+s),.*$/, '$1')
    .trim();
}

/** An error from a call, as {@link connectionDetails} words it (for logs). */
export function connectionFailure(err: unknown): string {
  return connectionDetails(errorMessage(err));
}

/** How hints name the settings to check: the CLI's flags, or an SDK's options. */
export interface SettingNames {
  /** Where the leader's address was given ("see --leader"). */
  readonly leader: string;
  /** The TLS settings as a whole ("--tls, --tls-ca"). */
  readonly tls: string;
  /** The CA that signed the leader ("--tls-ca"). */
  readonly ca: string;
  /** The client certificate and its key ("--tls-cert and --tls-key"). */
  readonly cert: string;
}

/** The CLI's flags (the default). */
export const CLI_SETTINGS: SettingNames = {
  leader: 'see --leader',
  tls: '--tls, --tls-ca',
  ca: '--tls-ca',
  cert: '--tls-cert and --tls-key',
};

/** What to check when the leader cannot be reached: TLS refusals say what they miss. */
export function unreachableHint(details: string, names: SettingNames = CLI_SETTINGS): string {
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/i.test(details)) {
    return `is the host name right? ${names.leader}`;
  }
  // HTTP/1 or another protocol on that port: most often the leader's HTTP address.
  if (/Protocol error/i.test(details)) {
    return `is that the leader's gRPC port, not its HTTP one? ${names.leader}`;
  }
  if (/certificate required/i.test(details)) {
    return `the leader requires a client certificate: give ${names.cert}`;
  }
  if (/self[- ]signed|unable to (get|verify)|certificate/i.test(details)) {
    return `the leader's certificate is not trusted or not for this name: see ${names.ca}`;
  }
  if (/wrong version number|EPROTO|ECONNRESET/i.test(details)) {
    return `is it running, and do both sides agree on TLS (${names.tls})? ${names.leader}`;
  }
  // grpc-js says only "Failed to connect" when the handshake failed with no system error:
  // a plaintext client at a TLS port, or a client certificate the leader refused.
  if (/Failed to connect\s*$/i.test(details)) {
    return `is it running, and does it take this TLS: plaintext or not, the CA (${names.ca}), the client certificate (${names.cert})? ${names.leader}`;
  }
  return `is it running? ${names.leader}`;
}

/**
 * Whether an UNAVAILABLE came from the leader itself rather than from grpc-js failing to
 * reach it: a standby's refusal says so in its trailers, and grpc-js words its own
 * connection failures in a few known ways; anything else the server sent.
 */
export function sentByLeader(err: unknown): boolean {
  if (refusedByStandby(err)) return true;
  const { details, message } = (err ?? {}) as { details?: string; message?: string };
  return !CONNECTION_FAILURE.test(details ?? message ?? '');
}

/** How grpc-js (and Node's sockets under it) word a failure to reach or keep a server. */
const CONNECTION_FAILURE =
  /No connection established|Connection dropped|failed to connect|Name resolution failed|GOAWAY|Stream refused|RST_STREAM|Protocol error|Received HTTP status code|ECONN|EPIPE|EPROTO|wrong version number|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|TLS|certificate|handshake/i;

/**
 * Why a call to a leader broke, for a person: what grpc-js said and, when it could not
 * reach or keep a leader there, what to check (most often, an HTTP port given as the
 * leader's address), in the words of the caller's settings.
 */
export function brokeBecause(
  err: Error & { details?: string },
  names: SettingNames = CLI_SETTINGS,
): string {
  const details = connectionDetails(err.details ?? err.message);
  if (sentByLeader(err)) return details;
  return `${details} (${unreachableHint(details, names)})`;
}
