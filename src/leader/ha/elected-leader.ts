import type { Logger } from 'pino';
import { errorMessage, UnavailableError } from '../../shared/errors.js';
import { PostgresTaskStore } from '../../scheduler/store/postgres-store.js';
import { Coordinator, type CoordinatorOptions, type LeaderDeps } from '../coordinator.js';
import type { Advertised, LeaderRole } from '../leader-role.js';
import { LeaseElector, type LeaseTiming } from './lease-elector.js';
import type { LeaderRow } from './lease-sql.js';
import { LeaderSwitch } from './leader-switch.js';
import { termGuardedTimers } from './term-guard.js';
import { systemLeaderTimers } from '../leader-timers.js';
import { isUnspecified, parseHostPort } from '../../shared/net.js';

/** What an elected leader needs beyond its coordinator's options. */
export interface ElectedLeaderOptions {
  readonly id: string;
  readonly url: string;
  readonly schema: string;
  readonly timing: LeaseTiming;
  /** Overrides what this leader advertises (default: where it listens). */
  readonly advertise: Partial<Advertised>;
  readonly logger: Logger;
  readonly deps: Omit<LeaderDeps, 'store' | 'fail' | 'logger'>;
  readonly coordinator: CoordinatorOptions;
}

/** The term this leader serves: its fenced store and the coordinator over it. */
interface ActiveTerm {
  readonly term: number;
  readonly store: PostgresTaskStore;
  readonly coordinator: Coordinator;
}

/**
 * A leader in a group on one PostgreSQL database. It serves refusals naming the active
 * leader until it wins the lease; then it opens a store fenced by its term, loads the open
 * tasks, waits the re-attach grace for workers as after a restart, and serves. When its
 * term ends (lost, not renewed in time, or a store write failed or was fenced) it stops all
 * work at once and goes back to standing by; the process keeps running.
 */
export class ElectedLeader implements LeaderRole {
  readonly failure: AbortSignal = new AbortController().signal;
  private readonly switch: LeaderSwitch;
  private readonly stopElection = new AbortController();
  private elector: LeaseElector | undefined;
  private election: Promise<void> | undefined;
  private active: ActiveTerm | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ElectedLeaderOptions) {
    this.switch = new LeaderSwitch(options.id);
    // Role changes are logged whatever the level, as the listening line is: operators and
    // tools (the benchmarks, at warn) must see when a leader takes over or steps down.
    this.log = options.logger.child(
      { component: 'elected-leader', leaderId: options.id },
      { level: 'info' },
    );
  }

  get api(): LeaderSwitch {
    return this.switch;
  }

  standing(): { active: boolean; term: number | undefined } {
    return { active: this.active !== undefined, term: this.active?.term };
  }

  serving(bound: Advertised): void {
    const { id, url, schema, timing, advertise, logger } = this.options;
    const self = {
      id,
      address: advertise.address ?? bound.address,
      httpAddress: advertise.httpAddress ?? bound.httpAddress,
    };
    const elector = new LeaseElector(
      { url, schema, self, timing, logger },
      {
        elected: (term) => void this.takeOver(term),
        deposed: (term, reason) => void this.stepDown(term, reason),
        leaderSeen: (leader) => this.switch.setActiveLeader(leader),
        databaseTrouble: (reason) => this.switch.setDatabaseTrouble(reason),
      },
    );
    this.elector = elector;
    const unroutable = [self.address, self.httpAddress].filter(
      (address) => address !== undefined && isUnspecified(parseHostPort(address).host),
    );
    if (unroutable.length > 0) {
      // Standbys name this address to clients and workers: 0.0.0.0 means their own machine.
      this.log.warn(
        { advertised: unroutable },
        'this leader advertises an address others cannot reach (0.0.0.0 or ::): set --advertise (and --advertise-http) to the address clients and workers should use',
      );
    }
    this.log.info(
      { address: self.address, httpAddress: self.httpAddress },
      'standing by for the lease',
    );
    this.election = elector.run(this.stopElection.signal);
  }

  beginShutdown(reason: string): void {
    const active = this.active;
    this.switch.deactivate();
    active?.coordinator.shutdown(reason);
  }

  async close(): Promise<void> {
    const active = this.active;
    this.active = undefined;
    // The store first: its last writes land under this term; then the lease goes, so a
    // standby takes over at once instead of waiting out the lease.
    await active?.store.close().catch(() => {});
    this.stopElection.abort();
    await this.election;
  }

  async leaders(): Promise<LeaderRow[]> {
    if (!this.elector) return [];
    try {
      return await this.elector.leaders();
    } catch (err) {
      throw new UnavailableError(
        `cannot read the leader list from PostgreSQL: ${errorMessage(err)}`,
      );
    }
  }

  /** Won the lease with `term`: load and serve, unless the term ends meanwhile. */
  private async takeOver(term: number): Promise<void> {
    const startedAtMs = performance.now();
    let store: PostgresTaskStore | undefined;
    let coordinator: Coordinator | undefined;
    try {
      const { url, schema, id } = this.options;
      store = await PostgresTaskStore.open({
        url,
        schema,
        fence: { term, holder: id },
        onCommit: (tasks: number, ms: number) =>
          this.options.deps.metrics?.observeCommit(tasks, ms),
        // Half a lease: a write is never idle that long unless this process is frozen.
        idleInTransactionTimeoutMs: Math.ceil(this.options.timing.leaseMs / 2),
      });
      const { deps } = this.options;
      coordinator = new Coordinator(
        {
          ...deps,
          // Nothing of this term acts once its lease may have passed on (a frozen leader).
          timers: termGuardedTimers(deps.timers ?? systemLeaderTimers, () => this.holds(term)),
          logger: this.options.logger,
          store,
          fail: (err) => this.storeFailed(term, err),
        },
        this.options.coordinator,
      );
      await coordinator.start();
    } catch (err) {
      this.log.error({ term, err: errorMessage(err) }, 'could not take over; giving the term up');
      coordinator?.shutdown('take-over failed');
      await store?.close().catch(() => {});
      this.elector?.resign(`take-over failed: ${errorMessage(err)}`);
      return;
    }
    if (this.elector?.currentTerm !== term) {
      coordinator.shutdown('the term ended while loading');
      await store.close().catch(() => {});
      return;
    }
    this.active = { term, store, coordinator };
    this.switch.activate(coordinator, () => this.holds(term));
    const tookMs = Math.round(performance.now() - startedAtMs);
    this.log.info({ term, tookMs }, 'leader active: took over');
  }

  /** The term is over: stop all work now; stand by again. */
  private async stepDown(term: number, reason: string): Promise<void> {
    const active = this.active;
    if (active?.term !== term) return;
    this.active = undefined;
    this.switch.deactivate();
    active.coordinator.shutdown(`this leader stepped down: ${reason}`);
    this.log.warn({ term, reason }, 'leader stepped down; standing by');
    await active.store.close().catch(() => {});
  }

  private holds(term: number): boolean {
    return this.elector?.holds(term) ?? false;
  }

  /** A write failed (fenced, or the database went away): this term cannot go on. */
  private storeFailed(term: number, err: unknown): void {
    if (this.active?.term !== term) return;
    this.elector?.resign(`a store write failed: ${errorMessage(err)}`);
  }
}
