import type { MemberId } from '../shared/ids.js';
import type { ClusterEvents } from './cluster-events.js';
import { OncePerTurn } from './once-per-turn.js';
import type { MemberView } from './views.js';

/**
 * Member change notices for watchers: each changed member is sent once per event-loop turn,
 * however many things changed it (a heartbeat, a start, a finish), as it is at the end of
 * the turn, or as removed if it is gone by then. Nothing is collected while no one watches.
 */
export class MemberFeed {
  private readonly dirty = new Set<MemberId>();
  private readonly flush: OncePerTurn;

  constructor(
    private readonly events: ClusterEvents,
    defer: (fn: () => void) => void,
    private readonly views: () => readonly MemberView[],
  ) {
    this.flush = new OncePerTurn(defer, () => this.send());
  }

  /** Notes that a member's view changed. */
  changed(id: MemberId | undefined): void {
    if (id === undefined || !this.events.watchingMembers) return;
    this.dirty.add(id);
    this.flush.request();
  }

  private send(): void {
    const ids = [...this.dirty];
    this.dirty.clear();
    const views = new Map(this.views().map((view) => [view.member.id, view]));
    for (const id of ids) {
      const view = views.get(id);
      this.events.emitMember(view ? { kind: 'changed', view } : { kind: 'removed', id });
    }
  }
}
