/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNVERIFIED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

/**
 * What to change when a connection to PostgreSQL failed over TLS, or '' when the failure
 * is not about TLS. pg 8 reads `sslmode=require` (and `prefer`, `verify-ca`) as
 * `verify-full`: the server's certificate must verify against Node's CAs, which a managed
 * database's private CA (RDS, Cloud SQL, a self-signed one) does not, so the bare error
 * ("unable to verify the first certificate") leaves a user who asked only for encryption
 * guessing.
 */
export function pgConnectHint(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (UNVERIFIED_CERTIFICATE.has(code)) {
    return (
      "; the server's certificate is not signed by a CA Node trusts: add its CA to the URL " +
      'with sslrootcert=/path/to/ca.pem (pg reads sslmode=require as verify-full), or, to ' +
      'encrypt without checking who answers, uselibpqcompat=true&sslmode=require'
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return "; the server's certificate does not name the host in the URL: connect by a name it holds";
  }
  if (message === 'The server does not support SSL connections') {
    return '; remove sslmode from the URL, or turn ssl on in the server';
  }
  return '';
}
