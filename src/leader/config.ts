import type { Command } from 'commander';
import { InvalidArgumentError } from '../shared/errors.js';
import { formatHostPort, isLoopback, parseHostPort } from '../shared/net.js';
import { addOptions, deepFreeze, readSections } from '../shared/options/table.js';
import type { ServerTlsFiles } from '../shared/tls.js';
import { POLICY_LIMITS } from '../scheduler/retry-policy.js';
import { LEADER_OPTIONS, type LeaderSections } from './options.js';

/** Where and how the leader serves: compiled from the `server` and `tls` option sections. */
export interface LeaderServerConfig {
  /** Addresses to serve gRPC on; each serves every service. */
  readonly listen: readonly string[];
  /** Where the HTTP JSON API listens; undefined when it is off. */
  readonly httpListen: string | undefined;
  /** Whether the HTTP listener also serves the web dashboard at `/`. */
  readonly dashboard: boolean;
  /** The tokens file every call is checked against (issue #20); undefined: open. */
  readonly tokensFile: string | undefined;
  /**
   * Client certificate names admitted as workers (issue #20); empty: workers are admitted
   * by a join token when there are tokens, else as today.
   */
  readonly workerCertNames: readonly string[];
  /** More Host names a loopback-only HTTP API answers to (see cross-site-guard.ts). */
  readonly httpAllowedHosts: readonly string[];
  readonly tls: ServerTlsFiles | undefined;
  readonly shutdownGraceMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

/**
 * Everything the leader process is configured with, checked once and deeply frozen: the
 * option table's sections (`membership`, `store`, `tasks`, `taskPolicy`, `retention`,
 * `output`, `watchers`, `log`), with `server` compiled from the raw `server` and `tls`.
 */
export interface LeaderConfig extends Omit<LeaderSections, 'server' | 'tls'> {
  readonly server: LeaderServerConfig;
}

/** Registers the leader's flags (each with an environment variable) on a command. */
export function addLeaderOptions(command: Command): Command {
  return addOptions(command, LEADER_OPTIONS);
}

/** Checks parsed options and returns the frozen config; throws on a bad combination. */
export function leaderConfigFrom(opts: Record<string, unknown>): LeaderConfig {
  const { server, tls, ...sections } = readSections(LEADER_OPTIONS, opts);
  const config: LeaderConfig = { ...sections, server: compileServer(server, tls) };
  checkTiming(config);
  checkStore(config.store);
  checkLease(config.ha);
  return deepFreeze(config);
}

/** The gRPC and HTTP addresses that are not loopback: others than this machine reach them. */
export function exposedAddresses(
  listen: readonly string[],
  httpListen: string | undefined,
): string[] {
  return [...listen, ...(httpListen === undefined ? [] : [httpListen])].filter(
    (address) => !isLoopback(parseHostPort(address).host),
  );
}

/** Normalizes the addresses and TLS files, and refuses plaintext off loopback unless allowed. */
function compileServer(
  server: LeaderSections['server'],
  tlsOptions: LeaderSections['tls'],
): LeaderServerConfig {
  const listen = server.listen.map((a) => formatHostPort(parseHostPort(a)));
  if (listen.length === 0) throw new InvalidArgumentError('--listen needs at least one address');
  const { certFile, keyFile, clientCaFile, allowInsecure, auth } = tlsOptions;
  const { workerCertNames, httpAllowedHosts } = tlsOptions;
  for (const name of httpAllowedHosts) {
    // Compared with the Host header's name, without its port: a scheme or port never matches.
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(name)) {
      throw new InvalidArgumentError(
        `--http-allowed-host "${name.slice(0, 100)}": give a bare host name, without scheme or port (e.g. drover.internal)`,
      );
    }
  }
  // An empty value (DROVER_TOKENS_FILE=) is no file, as an unset one.
  const tokensFile = tlsOptions.tokensFile === '' ? undefined : tlsOptions.tokensFile;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  }
  // Client certificates are asked for in the TLS handshake: with no TLS there is none, and
  // a leader started with --tls-client-ca alone would serve plaintext to everyone.
  if (clientCaFile !== undefined && certFile === undefined) {
    throw new InvalidArgumentError(
      '--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for over TLS',
    );
  }
  const tls = certFile && keyFile ? { certFile, keyFile, clientCaFile } : undefined;
  // An empty --http-listen turns the API off like --no-http (e.g. DROVER_HTTP_LISTEN=).
  const httpOn = server.http && server.httpListen !== '';
  const httpListen = httpOn ? formatHostPort(parseHostPort(server.httpListen)) : undefined;
  const exposed = exposedAddresses(listen, httpListen);
  if (!tls && !allowInsecure && exposed.length > 0) {
    throw new InvalidArgumentError(
      `refusing to serve plaintext on ${exposed.join(', ')}: give --tls-cert/--tls-key, ` +
        'or --allow-insecure inside a private network',
    );
  }
  if (tokensFile !== undefined && !auth) {
    throw new InvalidArgumentError('--tokens-file and --no-auth contradict each other; give one');
  }
  // Issue #20: beyond loopback, anyone who reaches the port could schedule, cancel and
  // join; tokens are needed there unless the operator says otherwise.
  if (tokensFile === undefined && auth && exposed.length > 0) {
    throw new InvalidArgumentError(
      `refusing to serve ${exposed.join(', ')} without tokens: give --tokens-file ` +
        '(drover token create), or --no-auth inside a private network',
    );
  }
  if (workerCertNames.length > 0 && clientCaFile === undefined) {
    throw new InvalidArgumentError(
      '--worker-cert-name needs --tls-client-ca: without it clients present no certificate to name',
    );
  }
  const { shutdownGraceMs, keepaliveTimeMs, keepaliveTimeoutMs } = server;
  const { dashboard } = server;
  return {
    ...{ listen, httpListen, dashboard, tls, tokensFile, workerCertNames, httpAllowedHosts },
    ...{ shutdownGraceMs, keepaliveTimeMs, keepaliveTimeoutMs },
  };
}

/** The checks across options, in the order they always ran (the first failing one is told). */
function checkTiming({ membership, taskPolicy: policy }: LeaderConfig): void {
  if (membership.heartbeatIntervalMs >= membership.deadAfterMs) {
    throw new InvalidArgumentError('--heartbeat-interval-ms must be below --dead-after-ms');
  }
  if (policy.maxAttempts > POLICY_LIMITS.maxAttempts) {
    throw new InvalidArgumentError(`--max-attempts must not be above ${POLICY_LIMITS.maxAttempts}`);
  }
  if (policy.retryBackoffMs > POLICY_LIMITS.retryBackoffMs) {
    throw new InvalidArgumentError(
      `--retry-backoff-ms must not be above ${POLICY_LIMITS.retryBackoffMs}`,
    );
  }
  if (policy.timeoutMs > POLICY_LIMITS.timeoutMs) {
    throw new InvalidArgumentError(
      `--task-timeout-ms must not be above ${POLICY_LIMITS.timeoutMs}`,
    );
  }
  if (membership.suspectAfterMs > membership.deadAfterMs) {
    throw new InvalidArgumentError('--suspect-after-ms must not be above --dead-after-ms');
  }
}

/** PostgreSQL schema names drover accepts: plain lower-case identifiers, nothing to quote. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The PostgreSQL store needs somewhere to connect; its schema must be a plain name. */
function checkStore(store: LeaderConfig['store']): void {
  const url = store.databaseUrl ?? '';
  if (store.kind === 'postgres' && url === '') {
    throw new InvalidArgumentError(
      '--store postgres needs --database-url (or DROVER_DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/drover',
    );
  }
  if (store.kind !== 'postgres' && url !== '') {
    // A leader given a database but left on SQLite would quietly run alone, outside the group.
    throw new InvalidArgumentError(
      `--database-url (or DROVER_DATABASE_URL) is set but --store is ${store.kind}: add --store postgres (or DROVER_STORE=postgres), or unset the URL`,
    );
  }
  if (url !== '' && !isPostgresUrl(url)) {
    throw new InvalidArgumentError(
      '--database-url must be a postgres:// (or postgresql://) URL, e.g. postgres://user:password@db.example:5432/drover',
    );
  }
  if (!SCHEMA_NAME.test(store.databaseSchema)) {
    throw new InvalidArgumentError(
      `--database-schema must be a lower-case name of letters, digits and _ (at most 63), not "${store.databaseSchema}"`,
    );
  }
}

/** A lease must outlast a few renewals, or one slow statement would depose the leader. */
function checkLease(ha: LeaderConfig['ha']): void {
  if (ha.leaseRenewMs * 2 > ha.leaseMs) {
    throw new InvalidArgumentError(
      `--lease-renew-ms must be at most half of --lease-ms (a lease outlives a missed renewal): got ${ha.leaseRenewMs} and ${ha.leaseMs}`,
    );
  }
  for (const value of [ha.advertise, ha.advertiseHttp]) {
    if (value !== undefined) parseHostPort(value);
  }
}

function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}
