import type { Logger } from 'pino';
import { systemClock } from '../../shared/clock.js';
import { exposedAddresses, type LeaderConfig } from '../config.js';
import { Admission } from './admission.js';
import { AuditLog } from './audit-log.js';
import { readTokenFile, Tokens } from './token-file.js';

/** Who may call: the tokens (read now: a bad file stops the start), admission, the audit log. */
export function accessControl(
  config: LeaderConfig,
  logger: Logger,
): {
  tokens: Tokens | undefined;
  /** The version of the tokens file read (see followTokenFile), if there is one. */
  tokensVersion: string | undefined;
  admission: Admission;
  audit: AuditLog;
} {
  const { tokensFile, workerCertNames } = config.server;
  const read = tokensFile === undefined ? undefined : readTokenFile(tokensFile);
  const tokens = read && new Tokens(read.entries);
  const admission = new Admission(tokens, new Set(workerCertNames));
  if (workerCertNames.length > 0 && tokens === undefined) {
    logger.warn(
      { workerCertNames },
      'worker certificates are checked for Join, Heartbeat and Leave only: without --tokens-file, any client with a certificate from --tls-client-ca may schedule, cancel and drain',
    );
  }
  // One audit log for both listeners, so its limit on refusal lines is one limit.
  const audit = new AuditLog(logger.child({ component: 'audit' }), systemClock.nowMs);
  return { tokens, tokensVersion: read?.version, admission, audit };
}

/**
 * Says so when a leader serves a non-loopback address with no tokens (`--no-auth`): it
 * is allowed inside a private network, but an operator reading the log should see it.
 */
export function warnIfOpen(
  listening: readonly string[],
  httpListening: string | undefined,
  tokens: Tokens | undefined,
  logger: Logger,
): void {
  if (tokens !== undefined) return;
  const exposed = exposedAddresses(listening, httpListening);
  if (exposed.length === 0) return;
  logger.warn(
    { exposed },
    'serving without tokens (--no-auth): anyone who reaches these addresses may schedule, cancel, drain and join',
  );
}
