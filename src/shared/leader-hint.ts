import type { Metadata } from '@grpc/grpc-js';

/**
 * The metadata key (gRPC trailer) and HTTP header by which a leader that is not the active
 * one (a standby, or one stepping down) names the active leader's gRPC address, host:port.
 * Clients given several leaders move to the named one at once instead of trying each.
 */
export const LEADER_METADATA_KEY = 'drover-leader';

/** The HTTP header naming the active leader's HTTP API address, host:port. */
export const LEADER_HTTP_HEADER = 'drover-leader-http';

/** The active leader's address a refusal names, if it names one. */
export function leaderHint(err: unknown): string | undefined {
  const metadata = (err as { metadata?: unknown } | null)?.metadata as Metadata | undefined;
  if (typeof metadata?.get !== 'function') return undefined;
  const [value] = metadata.get(LEADER_METADATA_KEY);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
