import pg from 'pg';
import type { ActiveLeader } from './leader-switch.js';

/** This leader as the others see it. */
export interface LeaderIdentity {
  readonly id: string;
  /** gRPC address clients are sent to, host:port. */
  readonly address: string;
  readonly httpAddress: string | undefined;
}

/** One leader of the group, for `drover leaders`. */
export interface LeaderRow {
  readonly id: string;
  readonly address: string;
  readonly httpAddress: string | undefined;
  /** `gone`: not checked in for longer than a lease (stopped, killed or cut off). */
  readonly role: 'active' | 'standby' | 'gone';
  /** The lease's term while active; undefined for a standby. */
  readonly term: number | undefined;
  /** Since the active leader last renewed its lease (ms); undefined for a standby. */
  readonly leaseAgeMs: number | undefined;
  /** Since this leader last checked in (ms). */
  readonly seenAgoMs: number;
}

/** Leaders not heard from for this long leave the list. */
const FORGET_LEADER_AFTER = '10 minutes';

/**
 * The lease statements, on one connection. Expiry is always PostgreSQL's now(): the leaders'
 * own clocks never compare with each other.
 */
export class LeaseSql {
  private readonly lease: string;
  private readonly leaders: string;

  constructor(
    private readonly client: pg.Client,
    schema: string,
    private readonly self: LeaderIdentity,
    private readonly leaseMs: number,
  ) {
    const s = pg.escapeIdentifier(schema);
    this.lease = `${s}.leader_lease`;
    this.leaders = `${s}.leaders`;
  }

  /**
   * Takes the lease if it is free, with the next term: expired, still this leader's from an
   * earlier term, or held by a leader whose elector session is gone from the database (its
   * process died: PostgreSQL ends a dead client's session at once, so a SIGKILLed leader is
   * replaced within one round instead of one lease). A leader frozen or cut off keeps its
   * session open and is replaced only when its lease expires; either way fencing keeps a
   * replaced leader from writing. Returns the new term, or undefined if another holds it.
   */
  async acquire(): Promise<number | undefined> {
    const { rows } = await this.client.query<{ term: number }>(
      `INSERT INTO ${this.lease} AS l (id, term, holder, address, http_address, acquired_at,
         renewed_at, expires_at)
       VALUES (1, 1, $1, $2, $3, now(), now(), now() + make_interval(secs => $4::float8 / 1000))
       ON CONFLICT (id) DO UPDATE SET term = l.term + 1, holder = EXCLUDED.holder,
         address = EXCLUDED.address, http_address = EXCLUDED.http_address, acquired_at = now(),
         renewed_at = now(), expires_at = EXCLUDED.expires_at
       WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
          OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                         WHERE a.application_name = left('drover-elector:' || l.holder, 63))
       RETURNING term`,
      [this.self.id, this.self.address, this.self.httpAddress ?? null, this.leaseMs],
    );
    return rows[0]?.term;
  }

  /** Extends the lease of `term`; false if this leader no longer holds it. */
  async renew(term: number): Promise<boolean> {
    const { rowCount } = await this.client.query(
      `UPDATE ${this.lease} SET renewed_at = now(),
         expires_at = now() + make_interval(secs => $3::float8 / 1000)
       WHERE id = 1 AND term = $1 AND holder = $2`,
      [term, this.self.id, this.leaseMs],
    );
    return rowCount === 1;
  }

  /** Ends the lease of `term` now, so a standby need not wait out its expiry. */
  async release(term: number): Promise<void> {
    await this.client.query(
      `UPDATE ${this.lease} SET expires_at = now() WHERE id = 1 AND term = $1 AND holder = $2`,
      [term, this.self.id],
    );
  }

  /**
   * The leader holding an unexpired lease, if any, and if it renewed within `freshMs` and its
   * elector session is there: a holder that stopped renewing (frozen, cut off) or died is
   * not named, so callers try the other leaders instead of waiting on it.
   */
  async holder(freshMs: number): Promise<ActiveLeader | undefined> {
    const { rows } = await this.client.query<{
      term: number;
      holder: string;
      address: string;
      http_address: string | null;
    }>(
      `SELECT term, holder, address, http_address FROM ${this.lease}
       WHERE id = 1 AND expires_at > now()
         AND renewed_at > now() - make_interval(secs => $1::float8 / 1000)
         AND EXISTS (SELECT 1 FROM pg_stat_activity a
                     WHERE a.application_name = left('drover-elector:' || holder, 63))`,
      [freshMs],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { term, holder: id, address, http_address } = row;
    return { id, term, address, httpAddress: http_address ?? undefined };
  }

  /** Takes this leader off the list: it is stopping cleanly (a killed one shows as gone). */
  async leave(): Promise<void> {
    await this.client.query(`DELETE FROM ${this.leaders} WHERE id = $1`, [this.self.id]);
  }

  /** Records that this leader is alive (for the list), and forgets long-gone ones. */
  async checkIn(): Promise<void> {
    await this.client.query(
      `INSERT INTO ${this.leaders} (id, address, http_address, started_at, seen_at)
       VALUES ($1, $2, $3, now(), now())
       ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address,
         http_address = EXCLUDED.http_address, seen_at = now()`,
      [this.self.id, this.self.address, this.self.httpAddress ?? null],
    );
    await this.client.query(
      `DELETE FROM ${this.leaders} WHERE seen_at < now() - interval '${FORGET_LEADER_AFTER}'`,
    );
  }

  /** Every leader of the group, oldest first, with its role, term and lease age. */
  async list(): Promise<LeaderRow[]> {
    const { rows } = await this.client.query<{
      id: string;
      address: string;
      http_address: string | null;
      active: boolean | null;
      term: number | null;
      lease_age_ms: number | null;
      seen_ago_ms: number;
      session: boolean;
    }>(
      `SELECT l.id, l.address, l.http_address,
         (ls.holder = l.id AND ls.expires_at > now()) AS active, ls.term,
         (extract(epoch FROM now() - ls.renewed_at) * 1000)::float8 AS lease_age_ms,
         (extract(epoch FROM now() - l.seen_at) * 1000)::float8 AS seen_ago_ms,
         EXISTS (SELECT 1 FROM pg_stat_activity a
                 WHERE a.application_name = left('drover-elector:' || l.id, 63)) AS session
       FROM ${this.leaders} l LEFT JOIN ${this.lease} ls ON ls.id = 1
       ORDER BY l.started_at, l.id`,
    );
    return rows.map((row) => {
      const active = row.active === true;
      // Gone: silent for a lease, or its elector session has ended (its process died:
      // PostgreSQL ends a dead client's session at once), as acquire() reads it too.
      const gone = row.seen_ago_ms > this.leaseMs || !row.session;
      return {
        id: row.id,
        address: row.address,
        httpAddress: row.http_address ?? undefined,
        role: active ? 'active' : gone ? 'gone' : 'standby',
        term: active ? (row.term ?? undefined) : undefined,
        leaseAgeMs: active ? Math.round(row.lease_age_ms ?? 0) : undefined,
        seenAgoMs: Math.round(row.seen_ago_ms),
      };
    });
  }
}

/**
 * The application_name of a leader's elector session, by which standbys see it is alive
 * (PostgreSQL keeps 63 characters of it; the statements compare the same prefix).
 */
export function electorSessionName(leaderId: string): string {
  return `drover-elector:${leaderId}`.slice(0, 63);
}
