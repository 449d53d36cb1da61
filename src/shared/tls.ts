import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';

/** TLS files for the leader: its certificate and key, and optionally a CA for client certs. */
export interface ServerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, workers and clients must present a certificate signed by this CA (mTLS). */
  readonly clientCaFile?: string | undefined;
}

/** TLS files for a client: the CA that signed the leader, and optionally its own cert. */
export interface ClientTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** Server credentials: TLS when files are given, else plaintext (allowed only by config). */
export function serverCredentials(tls: ServerTlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.clientCaFile ? readFileSync(tls.clientCaFile) : null;
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    ca !== null,
  );
}

/** Channel credentials: TLS when asked for, else plaintext. */
export function channelCredentials(tls: ClientTlsFiles | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  const read = (file: string | undefined): Buffer | null => (file ? readFileSync(file) : null);
  return credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}
