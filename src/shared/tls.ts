import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { errorMessage, InvalidArgumentError } from './errors.js';

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

/** The leader's TLS files, read and checked: what the gRPC and HTTPS listeners serve. */
export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa: Buffer | undefined;
  /** The certificate's validity, for a warning when the leader starts outside it. */
  readonly validFromMs: number;
  readonly validToMs: number;
}

/**
 * Reads the leader's TLS files and checks them before anything listens: a file that is
 * missing or unreadable, holds no certificate, or a key that does not match, is a setting
 * to fix (InvalidArgumentError, naming the flag), not a stack trace, nor a leader that
 * starts and then refuses every handshake (as a key given as --tls-client-ca did).
 */
export function readServerTls(files: ServerTlsFiles): ServerTls {
  const { cert, key, leaf } = readKeyPair(files.certFile, files.keyFile);
  const clientCa =
    files.clientCaFile === undefined
      ? undefined
      : readCertificates('--tls-client-ca', files.clientCaFile);
  return {
    cert,
    key,
    clientCa,
    validFromMs: Date.parse(leaf.validFrom),
    validToMs: Date.parse(leaf.validTo),
  };
}

/**
 * The certificate's validity when `nowMs` is outside it, else undefined. Such a certificate
 * is served as it is, but every client will refuse it: the leader says so at start, where
 * the operator looks, not once per refused client.
 */
export function outsideValidity(
  tls: ServerTls,
  nowMs: number,
): { validFrom: Date; validTo: Date } | undefined {
  if (nowMs <= tls.validToMs && nowMs >= tls.validFromMs) return undefined;
  return { validFrom: new Date(tls.validFromMs), validTo: new Date(tls.validToMs) };
}

/** Server credentials: TLS when given, else plaintext (allowed only by config). */
export function serverCredentials(tls: ServerTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.clientCa ?? null;
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    ca !== null,
  );
}

/**
 * Channel credentials: TLS when asked for, else plaintext. The files are read and checked
 * as the leader's are (readServerTls): a bad one throws InvalidArgumentError naming it.
 */
export function channelCredentials(tls: ClientTlsFiles | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  const ca = tls.caFile === undefined ? null : readCertificates('--tls-ca', tls.caFile);
  if (tls.certFile === undefined || tls.keyFile === undefined) {
    return credentials.createSsl(ca);
  }
  const { cert, key } = readKeyPair(tls.certFile, tls.keyFile);
  return credentials.createSsl(ca, key, cert);
}

/** A certificate and its key (`--tls-cert`, `--tls-key`), read and checked to match. */
function readKeyPair(
  certFile: string,
  keyFile: string,
): { cert: Buffer; key: Buffer; leaf: X509Certificate } {
  const cert = readPem('--tls-cert', certFile);
  const key = readPem('--tls-key', keyFile);
  const leaf = certificateIn('--tls-cert', certFile, cert);
  checkKeyMatches(leaf, key, keyFile);
  return { cert, key, leaf };
}

/** A PEM file of CA certificates, read and checked to hold one at least. */
function readCertificates(flag: string, file: string): Buffer {
  const pem = readPem(flag, file);
  certificateIn(flag, file, pem);
  return pem;
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`${flag} ${file}: ${errorMessage(err)}`);
  }
}

/** The first certificate in a PEM file; refuses a file that holds none (a key, say). */
function certificateIn(flag: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new InvalidArgumentError(`${flag} ${file} holds no PEM certificate`);
  }
}

function checkKeyMatches(cert: X509Certificate, pem: Buffer, keyFile: string): void {
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(pem));
  } catch (err) {
    throw new InvalidArgumentError(
      `--tls-key ${keyFile} is not a usable PEM private key (${errorMessage(err)})`,
    );
  }
  if (!matches) {
    throw new InvalidArgumentError(`--tls-key ${keyFile} is not the key of --tls-cert`);
  }
}
