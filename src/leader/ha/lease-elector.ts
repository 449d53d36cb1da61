import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import { migratePostgres, redactUrl } from '../../scheduler/store/postgres-store.js';
import { pgConnectHint } from '../../scheduler/store/pg-connect-hint.js';
import { electorSessionName, LeaseSql, type LeaderIdentity, type LeaderRow } from './lease-sql.js';
import { LeaseTerm } from './lease-term.js';
import type { ActiveLeader } from './leader-switch.js';

/** How leaders hold the lease. */
export interface LeaseTiming {
  /** How often the active leader renews (and a standby tries to take over). */
  readonly renewMs: number;
  /** How long a lease lasts unrenewed; a standby takes over after it. */
  readonly leaseMs: number;
}

/** What the elector tells the leader. */
export interface ElectorEvents {
  /** This leader took the lease with `term`: load the task list and serve. */
  elected(term: number): void;
  /** This leader's term is over (lost, or not renewed in time): stop all work now. */
  deposed(term: number, reason: string): void;
  /** Who holds the lease now, as last read (undefined: nobody). */
  leaderSeen(leader: ActiveLeader | undefined): void;
  /** The database failed a statement (the reason), or answers again (undefined). */
  databaseTrouble(reason: string | undefined): void;
}

/** Where and as whom the elector runs. */
export interface ElectorOptions {
  readonly url: string;
  readonly schema: string;
  readonly self: LeaderIdentity;
  readonly timing: LeaseTiming;
  readonly logger: Logger;
  /** A monotonic clock in ms (performance.now unless a test injects one). */
  readonly monotonicMs?: () => number;
}

/**
 * Runs this leader's side of the election on its own connection (so a slow task write
 * never delays a renewal): every renewMs it renews its lease if it holds one, or tries to
 * take it if it is free, and checks in for `drover leaders`. A watchdog deposes this leader
 * the moment its lease may have passed to another, whatever the database is doing.
 */
export class LeaseElector {
  private client: pg.Client | undefined;
  private sql: LeaseSql | undefined;
  private term: LeaseTerm | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly options: ElectorOptions,
    private readonly events: ElectorEvents,
  ) {
    this.log = options.logger.child({ component: 'elector' });
    this.now = options.monotonicMs ?? (() => performance.now());
  }

  /** The term this leader holds, if any. */
  get currentTerm(): number | undefined {
    return this.term?.term;
  }

  /** Whether this leader still holds `term` and its lease cannot yet have passed on. */
  holds(term: number): boolean {
    return this.term?.term === term && !this.term.isOver(this.now());
  }

  /** Runs rounds until `signal` aborts; then releases the lease (a clean hand-over). */
  async run(signal: AbortSignal): Promise<void> {
    // Bounded by the signal: one round per renewMs until shutdown.
    while (!signal.aborted) {
      const startedAt = this.now();
      await this.round();
      const waitMs = Math.max(0, this.options.timing.renewMs - (this.now() - startedAt));
      await sleep(waitMs, undefined, { signal }).catch(() => {});
    }
    await this.release();
  }

  /** Gives the term up now (a store failure): it is deposed, and may be won again later. */
  resign(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.endTerm(reason);
    void this.withSql((sql) => sql.release(term.term), 'release');
  }

  /** Every leader of the group (for `drover leaders`). */
  async leaders(): Promise<LeaderRow[]> {
    const sql = await this.connected();
    return sql.list();
  }

  private async round(): Promise<void> {
    if (this.term) await this.renew(this.term);
    else await this.tryAcquire();
    await this.withSql(async (sql) => {
      await sql.checkIn();
      // Two and a half renewals: a live leader has renewed twice in that time.
      this.events.leaderSeen(await sql.holder(2.5 * this.options.timing.renewMs));
      this.events.databaseTrouble(undefined);
    }, 'check in');
  }

  private async renew(term: LeaseTerm): Promise<void> {
    const sentAtMs = this.now();
    const held = await this.withSql((sql) => sql.renew(term.term), 'renew');
    // An error leaves the term to the watchdog: later renewals may still make it in time.
    if (held === undefined || this.term !== term) return;
    if (!held) {
      this.endTerm('another leader took the lease');
      return;
    }
    term.renewed(sentAtMs);
    this.armWatchdog(term);
  }

  private async tryAcquire(): Promise<void> {
    const sentAtMs = this.now();
    const won = await this.withSql((sql) => sql.acquire(), 'acquire');
    if (won === undefined) return;
    const term = new LeaseTerm(won, this.options.timing.leaseMs, sentAtMs);
    this.term = term;
    this.armWatchdog(term);
    this.log.info({ term: won }, 'leader took the lease; taking over');
    this.events.elected(won);
  }

  /** Deposes this leader at the lease's deadline unless a renewal moves it first. */
  private armWatchdog(term: LeaseTerm): void {
    clearTimeout(this.watchdog);
    const delayMs = Math.max(0, term.stepDownAtMs - this.now());
    this.watchdog = setTimeout(() => {
      if (this.term === term && term.isOver(this.now())) {
        this.endTerm('the lease was not renewed before its deadline');
      } else if (this.term === term) {
        this.armWatchdog(term);
      }
    }, delayMs);
  }

  private endTerm(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    clearTimeout(this.watchdog);
    this.log.warn({ term: term.term, reason }, 'leader stepping down');
    this.events.deposed(term.term, reason);
  }

  private async release(): Promise<void> {
    clearTimeout(this.watchdog);
    const term = this.term;
    this.term = undefined;
    if (term) await this.withSql((sql) => sql.release(term.term), 'release');
    // Off the leader list at once: `drover leaders` would show it as a standby for up to
    // a lease otherwise, though it no longer answers.
    await this.withSql((sql) => sql.leave(), 'leave');
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }

  /** Runs statements on the elector's connection; an error drops it (reconnect next time). */
  private async withSql<T>(
    work: (sql: LeaseSql) => Promise<T>,
    what: string,
  ): Promise<T | undefined> {
    try {
      return await work(await this.connected());
    } catch (err) {
      this.log.warn({ err: errorMessage(err), what }, 'lease statement failed');
      this.events.databaseTrouble(errorMessage(err));
      // Keep a session that still works: standbys read a holder's missing session as its
      // death, so the active leader must not drop its own over one failed statement.
      if (!connectionLost(err)) return undefined;
      const client = this.client;
      this.client = undefined;
      this.sql = undefined;
      await client?.end().catch(() => {});
      return undefined;
    }
  }

  private async connected(): Promise<LeaseSql> {
    if (this.sql) return this.sql;
    const { url, schema, self, timing } = this.options;
    const client = new pg.Client({
      connectionString: url,
      // Standbys look for this session to tell a dead leader from a slow one.
      application_name: electorSessionName(self.id),
      // A statement that hangs (a partition) fails within one lease; the watchdog acts
      // sooner anyway. Not shorter: a dropped session reads to standbys as a dead leader.
      query_timeout: timing.leaseMs,
      connectionTimeoutMillis: timing.renewMs,
      types: { getTypeParser: int8AsNumber },
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await migratePostgres(client, schema);
    } catch (err) {
      await client.end().catch(() => {});
      const hint = pgConnectHint(err);
      throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}${hint}`, {
        cause: err,
      });
    }
    this.client = client;
    this.sql = new LeaseSql(client, schema, self, timing.leaseMs);
    return this.sql;
  }
}

/** bigint columns (terms) as numbers: they stay far below 2^53. */
function int8AsNumber(oid: number, format?: string): (value: string) => unknown {
  if (oid === 20) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as 'text');
}

/**
 * True when the session itself is gone or unusable: no SQLSTATE (a client-side timeout, a
 * closed socket), class 08 (connection exception) or 57P (the server shut it).
 */
function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || code.startsWith('08') || code.startsWith('57P');
}
