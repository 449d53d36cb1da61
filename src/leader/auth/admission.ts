import type { PeerCertificate } from 'node:tls';
import { UnauthenticatedError } from '../../shared/errors.js';
import { authorize } from './authorize.js';
import type { Need } from './roles.js';
import type { Tokens } from './token-file.js';

/**
 * Who may call the leader over gRPC (issue #20): callers with a token whose role allows
 * the call, and, for what a worker does (join, heartbeat, leave), clients whose verified
 * certificate carries a name the operator listed (`--worker-cert-name`). mTLS alone only
 * says a certificate is the CA's; the name says it is a worker's, so an operator's
 * certificate from the same CA cannot join. With tokens, a worker's certificate gives
 * nothing else (scheduling, draining need a token); without, every other call stays as
 * open as mTLS makes it, and the leader warns of that when it starts.
 */
export class Admission {
  constructor(
    readonly tokens: Tokens | undefined,
    readonly workerCertNames: ReadonlySet<string>,
  ) {}

  /** Whether calls are checked at all: an open leader installs no interceptor. */
  get guarded(): boolean {
    return this.tokens !== undefined || this.workerCertNames.size > 0;
  }

  /**
   * Admits a call that needs `need` from a caller with these `authorization` values and
   * (read only when needed) this peer certificate; returns who it is for logs, or throws
   * UNAUTHENTICATED / PERMISSION_DENIED.
   */
  check(need: Need, headers: readonly string[], peer: () => PeerCertificate | undefined): string {
    if (need === 'public') return '';
    if (need === 'worker' && this.workerCertNames.size > 0) {
      const names = certificateNames(peer());
      const admitted = names.find((name) => this.workerCertNames.has(name));
      if (admitted !== undefined) return `certificate ${admitted}`;
      // A join token still admits a worker when there are tokens; without, refused.
      if (this.tokens === undefined || headers.length === 0) {
        throw new UnauthenticatedError(
          names.length === 0
            ? 'this leader admits workers by client certificate name; this call presented no certificate'
            : `this leader admits workers by client certificate name; "${names[0]!.slice(0, 100)}" is not one it admits`,
        );
      }
    }
    return this.tokens === undefined ? '' : authorize(this.tokens, need, headers);
  }
}

/**
 * The names a certificate answers to: its subject's common names and its DNS
 * subjectAltNames (what TLS clients check a server's name against, the same way here).
 */
export function certificateNames(cert: PeerCertificate | undefined): string[] {
  // Node hands an empty object for a peer that sent no certificate.
  if (cert === undefined || cert.subject === undefined) return [];
  const cn = cert.subject.CN as string | string[] | undefined;
  const names = cn === undefined ? [] : Array.isArray(cn) ? [...cn] : [cn];
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice('DNS:'.length));
  }
  return names;
}
