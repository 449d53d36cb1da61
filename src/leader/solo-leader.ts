import type { TaskStore } from '../scheduler/store/store.js';
import type { Coordinator } from './coordinator.js';
import type { LeaderRow } from './ha/lease-sql.js';
import type { Advertised, LeaderRole } from './leader-role.js';

/**
 * A leader alone with its store (SQLite or memory): active from start to stop. A store
 * failure stops the process, since no other leader could take over.
 */
export class SoloLeader implements LeaderRole {
  private advertised: Advertised | undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly store: TaskStore,
    readonly failure: AbortSignal,
    private readonly id: string,
  ) {}

  get api(): Coordinator {
    return this.coordinator;
  }

  standing(): { active: boolean; term: undefined } {
    return { active: true, term: undefined };
  }

  serving(advertised: Advertised): void {
    this.advertised = advertised;
  }

  beginShutdown(reason: string): void {
    this.coordinator.shutdown(reason);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  async leaders(): Promise<LeaderRow[]> {
    const { address = '', httpAddress } = this.advertised ?? {};
    return [
      {
        id: this.id,
        address,
        httpAddress,
        role: 'active',
        term: undefined,
        leaseAgeMs: undefined,
        seenAgoMs: 0,
      },
    ];
  }
}
