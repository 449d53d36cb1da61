import type { MemberFeed } from '../member-feed.js';
import type { MemberLifecycle } from '../member-lifecycle.js';
import type { MembershipRegistry } from '../membership/registry.js';
import type { MaintenanceJob } from './maintenance.js';

/** What the liveness sweep reads and drives. */
export interface LivenessSweepDeps {
  readonly membership: Pick<MembershipRegistry, 'sweep'>;
  readonly members: Pick<MemberLifecycle, 'apply' | 'applyQuarantine'>;
  readonly feed: Pick<MemberFeed, 'changed'>;
}

/**
 * Moves silent members to suspect and dead (a dead member's attempts are requeued by the
 * membership glue), lifts quarantines that are over, and forgets long-gone members.
 */
export class LivenessSweep implements MaintenanceJob {
  readonly name = 'liveness';

  constructor(private readonly deps: LivenessSweepDeps) {}

  run(nowMs: number): void {
    const { transitions, quarantines, forgotten } = this.deps.membership.sweep(nowMs);
    for (const id of forgotten) this.deps.feed.changed(id);
    for (const transition of transitions) this.deps.members.apply(transition);
    for (const change of quarantines) this.deps.members.applyQuarantine(change);
  }
}
