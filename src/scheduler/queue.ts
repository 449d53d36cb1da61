import type { MemberId, TaskId } from '../shared/ids.js';
import { PRIORITIES_HIGH_FIRST, type Priority } from './task.js';

/** What the queue needs to know of a pending task. */
export interface QueueEntry {
  readonly id: TaskId;
  readonly priority: Priority;
  readonly kind: string;
  readonly targetMemberId: MemberId | undefined;
  /** Order within a priority: lower first (see `TaskRecord.queueSeq`). */
  readonly queueSeq: number;
  /** Tasks sharing a key share its limits and take turns with other keys (issue #18). */
  readonly concurrencyKey: string | undefined;
}

/** What a member can take: its id (for targeted tasks) and the kinds it has handlers for. */
export interface Taker {
  readonly id: MemberId;
  readonly kinds: ReadonlySet<string>;
}

/**
 * Says whether the tasks of a concurrency key (of one kind) may be offered now: false while
 * the key is at its limit of running tasks, out of rate tokens or paused. Asked when a key's
 * tasks first queue and on {@link TaskQueue.refreshKey}, never per offer.
 */
export type KeyGate = (kind: string, key: string) => boolean;

/** The key of tasks that carry none: never held back by a gate. */
const NO_KEY = '';

interface QueueNode {
  readonly entry: QueueEntry;
  readonly list: KeyList;
  prev: QueueNode | undefined;
  next: QueueNode | undefined;
}

/** A doubly linked list of nodes ordered by queueSeq: O(1) push at either end and removal. */
class LinkedList {
  head: QueueNode | undefined;
  tail: QueueNode | undefined;
  size = 0;

  insert(entry: QueueEntry, list: KeyList): QueueNode {
    const node: QueueNode = { entry, list, prev: undefined, next: undefined };
    const after = this.placeAfter(entry.queueSeq);
    node.prev = after;
    node.next = after === undefined ? this.head : after.next;
    if (node.prev) node.prev.next = node;
    else this.head = node;
    if (node.next) node.next.prev = node;
    else this.tail = node;
    this.size++;
    return node;
  }

  /**
   * The node a task of this queueSeq goes after (undefined: the head). New tasks land at
   * the tail and requeued ones (lower queueSeq than any queued) at the head, both in O(1).
   * A task handed back unstarted returns to its own place in between: the walk goes from
   * both ends at once, so it costs the distance to the nearer one (such a task was taken
   * from near the head, and few are queued ahead of it).
   */
  private placeAfter(queueSeq: number): QueueNode | undefined {
    let fromTail = this.tail;
    // After any of equal queueSeq: equal ones keep the order they were pushed in.
    if (fromTail === undefined || fromTail.entry.queueSeq <= queueSeq) return fromTail;
    let fromHead = this.head;
    while (fromHead !== undefined && fromTail !== undefined) {
      if (fromHead.entry.queueSeq > queueSeq) return fromHead.prev;
      if (fromTail.entry.queueSeq <= queueSeq) return fromTail;
      fromHead = fromHead.next;
      fromTail = fromTail.prev;
    }
    return undefined;
  }

  remove(node: QueueNode): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
    this.size--;
  }
}

/** The tasks of one concurrency key within one priority of one lane, FIFO. */
class KeyList extends LinkedList {
  constructor(
    readonly key: string,
    readonly owner: PriorityList,
  ) {
    super();
  }
}

/**
 * One priority of one lane: a FIFO list per concurrency key, and the ring of keys whose
 * gate is open and that have tasks, in the order they get their next turn. Offering the
 * head of the first key in the ring, then moving that key to the back, is the round-robin
 * between keys; a held key is out of the ring, so it never stands in front of a task that
 * could start. With no keys there is one list and the order is plain FIFO.
 */
class PriorityList {
  readonly byKey = new Map<string, KeyList>();
  readonly ready = new Set<KeyList>();

  constructor(readonly kind: string) {}

  /** The task this priority offers next, if any key may run. */
  get head(): QueueEntry | undefined {
    const first = this.ready.values().next().value;
    return first?.head?.entry;
  }
}

/** Tasks of one kind and one target (or none), one list per priority. */
class Lane {
  readonly lists: Map<Priority, PriorityList>;
  size = 0;

  constructor(kind: string) {
    this.lists = new Map(PRIORITIES_HIGH_FIRST.map((p) => [p, new PriorityList(kind)]));
  }
}

const ANY_MEMBER = '';

/**
 * The pending tasks: highest priority first, FIFO within a priority for each concurrency
 * key, keys taking turns (round-robin) within a priority, requeued tasks at the head of
 * their key. Tasks are split into lanes by kind and target so that finding the next task a
 * member can take costs O(kinds it runs), never a scan; a key held by its gate (at its
 * limit, paused) leaves the rings, so it costs nothing while it waits and blocks no one.
 * Pure: no I/O, no time.
 */
export class TaskQueue {
  private readonly lanes = new Map<string, Lane>();
  private readonly nodes = new Map<TaskId, QueueNode>();
  /** Kinds whose tasks are not offered to anyone (paused); they keep their places. */
  private readonly paused = new Set<string>();
  /** Queued tasks per priority (for metrics: kept as they change, read for free). */
  private readonly perPriority: Record<Priority, number> = { high: 0, medium: 0, low: 0 };
  /** Every list of each concurrency key (not of NO_KEY), for {@link refreshKey}. */
  private readonly keyLists = new Map<string, Set<KeyList>>();

  constructor(private readonly gate: KeyGate = () => true) {}

  /** Stops offering tasks of `kind`; false if it was paused already. */
  pauseKind(kind: string): boolean {
    if (this.paused.has(kind)) return false;
    this.paused.add(kind);
    return true;
  }

  /** Offers tasks of `kind` again; false if it was not paused. */
  resumeKind(kind: string): boolean {
    return this.paused.delete(kind);
  }

  /** True while tasks of `kind` are not offered. */
  isPaused(kind: string): boolean {
    return this.paused.has(kind);
  }

  /** Number of pending tasks. */
  get size(): number {
    return this.nodes.size;
  }

  /** True if the task is queued. */
  has(id: TaskId): boolean {
    return this.nodes.has(id);
  }

  /** Number of queued tasks of each priority. */
  sizeByPriority(): Record<Priority, number> {
    return { ...this.perPriority };
  }

  /** Number of tasks queued with this concurrency key (O(lists of the key)). */
  queuedWithKey(key: string): number {
    let count = 0;
    for (const list of this.keyLists.get(key) ?? []) count += list.size;
    return count;
  }

  /** The concurrency keys that have queued tasks. */
  queuedKeys(): IterableIterator<string> {
    return this.keyLists.keys();
  }

  /** Adds a task at the place its queueSeq says. */
  push(entry: QueueEntry): void {
    if (this.nodes.has(entry.id)) throw new Error(`task ${entry.id} is already queued`);
    const laneKey = laneKeyOf(entry.kind, entry.targetMemberId ?? ANY_MEMBER);
    let lane = this.lanes.get(laneKey);
    if (!lane) {
      lane = new Lane(entry.kind);
      this.lanes.set(laneKey, lane);
    }
    const owner = lane.lists.get(entry.priority)!;
    const key = entry.concurrencyKey ?? NO_KEY;
    let list = owner.byKey.get(key);
    if (list === undefined) {
      list = new KeyList(key, owner);
      owner.byKey.set(key, list);
      if (key !== NO_KEY) {
        let lists = this.keyLists.get(key);
        if (lists === undefined) this.keyLists.set(key, (lists = new Set()));
        lists.add(list);
      }
    }
    const node = list.insert(entry, list);
    if (list.size === 1 && this.isOpen(list)) owner.ready.add(list);
    lane.size++;
    this.perPriority[entry.priority]++;
    this.nodes.set(entry.id, node);
  }

  /** Removes a task; returns false if it was not queued. */
  remove(id: TaskId): boolean {
    const node = this.nodes.get(id);
    if (!node) return false;
    const list = node.list;
    list.remove(node);
    this.nodes.delete(id);
    this.perPriority[node.entry.priority]--;
    if (list.size === 0) this.dropList(list);
    const laneKey = laneKeyOf(node.entry.kind, node.entry.targetMemberId ?? ANY_MEMBER);
    const lane = this.lanes.get(laneKey)!;
    lane.size--;
    // Drop empty lanes so targeted lanes of departed members do not pile up.
    if (lane.size === 0) this.lanes.delete(laneKey);
    return true;
  }

  /**
   * Asks the gate again about a key (its running count, limit, tokens or pause changed):
   * its lists join the back of their rings if it may run, and leave them if not.
   */
  refreshKey(key: string): void {
    for (const list of this.keyLists.get(key) ?? []) {
      const ring = list.owner.ready;
      if (!this.isOpen(list)) ring.delete(list);
      else if (!ring.has(list)) ring.add(list);
    }
  }

  /** {@link refreshKey} for every key with queued tasks (a limit of a whole kind changed). */
  refreshAllKeys(): void {
    for (const key of this.keyLists.keys()) this.refreshKey(key);
  }

  /** The task `taker` should run next, without removing it. */
  peekFor(taker: Taker): QueueEntry | undefined {
    let best: QueueEntry | undefined;
    for (const kind of taker.kinds) {
      if (this.paused.size > 0 && this.paused.has(kind)) continue;
      for (const target of [ANY_MEMBER, taker.id]) {
        const lane = this.lanes.get(laneKeyOf(kind, target));
        if (!lane) continue;
        // The highest priority with a key that may run: a held key at a higher priority
        // does not stall a lower one either.
        for (const priority of PRIORITIES_HIGH_FIRST) {
          const head = lane.lists.get(priority)!.head;
          if (head === undefined) continue;
          if (best === undefined || comesBefore(head, best)) best = head;
          break;
        }
      }
    }
    return best;
  }

  /**
   * Removes and returns the task `taker` should run next; its key goes to the back of its
   * ring, so the next offer at that priority is another key's turn.
   */
  takeFor(taker: Taker): QueueEntry | undefined {
    const entry = this.peekFor(taker);
    if (entry === undefined) return undefined;
    const list = this.nodes.get(entry.id)!.list;
    this.remove(entry.id);
    const ring = list.owner.ready;
    if (list.size > 0 && ring.size > 1 && ring.delete(list)) ring.add(list);
    return entry;
  }

  private isOpen(list: KeyList): boolean {
    return list.key === NO_KEY || this.gate(list.owner.kind, list.key);
  }

  /** An emptied list leaves its ring; a key's list is dropped (keys come and go). */
  private dropList(list: KeyList): void {
    list.owner.ready.delete(list);
    if (list.key === NO_KEY) return;
    list.owner.byKey.delete(list.key);
    const lists = this.keyLists.get(list.key)!;
    lists.delete(list);
    if (lists.size === 0) this.keyLists.delete(list.key);
  }
}

const PRIORITY_RANK: Readonly<Record<Priority, number>> = { high: 0, medium: 1, low: 2 };

function comesBefore(a: QueueEntry, b: QueueEntry): boolean {
  const byPriority = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  if (byPriority !== 0) return byPriority < 0;
  return a.queueSeq < b.queueSeq;
}

function laneKeyOf(kind: string, target: string): string {
  return `${kind}\u0000${target}`;
}
