import type { LeaderApi } from './leader-api.js';
import type { LeaderRow } from './ha/lease-sql.js';

/** Where this leader serves, as others should be told. */
export interface Advertised {
  readonly address: string;
  readonly httpAddress: string | undefined;
}

/** Who leads: every leader process of the group, for `drover leaders`. */
export interface LeaderDirectory {
  leaders(): Promise<LeaderRow[]>;
}

/**
 * How this leader process holds its task list: alone (SQLite or memory; always active) or
 * in a group on PostgreSQL (active only while it holds the lease). main.ts serves `api`
 * and drives the role through its life: serving → beginShutdown → close.
 */
export interface LeaderRole extends LeaderDirectory {
  /** What the gRPC and HTTP adapters call. */
  readonly api: LeaderApi;
  /** Aborted when the leader must stop (a solo leader's store failed). */
  readonly failure: AbortSignal;
  /** Whether it acts now, and under which term (a group's; none for a solo leader). */
  standing(): { readonly active: boolean; readonly term: number | undefined };
  /** The listeners are bound: start acting (a group member starts its election). */
  serving(advertised: Advertised): void;
  /** Stop taking requests; worker streams and watches end with UNAVAILABLE. */
  beginShutdown(reason: string): void;
  /** Release the store (and the lease) once the servers are closed. */
  close(): Promise<void>;
}
