import type { Metadata } from '@grpc/grpc-js';

/**
 * The metadata key (gRPC trailer) and HTTP header by which a leader that is not the active
 * one (a standby, or one stepping down) names the active leader's gRPC address, host:port.
 * Clients given several leaders move to the named one at once instead of trying each.
 */
export const LEADER_METADATA_KEY = 'drover-leader';

/**
 * The trailer (and HTTP header) a leader that is not active always sets, `standby`, so a
 * client can tell a live standby's refusal from an unreachable leader (both UNAVAILABLE).
 */
export const LEADER_ROLE_KEY = 'drover-role';

/** The HTTP header naming the active leader's HTTP API address, host:port. */
export const LEADER_HTTP_HEADER = 'drover-leader-http';

/** The active leader's address a refusal names, if it names one. */
export function leaderHint(err: unknown): string | undefined {
  const metadata = (err as { metadata?: unknown } | null)?.metadata as Metadata | undefined;
  if (typeof metadata?.get !== 'function') return undefined;
  const [value] = metadata.get(LEADER_METADATA_KEY);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** True for a refusal by a live leader that is not the active one. */
export function refusedByStandby(err: unknown): boolean {
  const metadata = (err as { metadata?: unknown } | null)?.metadata as Metadata | undefined;
  if (typeof metadata?.get !== 'function') return false;
  return metadata.get(LEADER_ROLE_KEY)[0] === 'standby';
}
