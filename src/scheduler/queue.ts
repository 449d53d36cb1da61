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
}

/** What a member can take: its id (for targeted tasks) and the kinds it has handlers for. */
export interface Taker {
  readonly id: MemberId;
  readonly kinds: ReadonlySet<string>;
}

interface QueueNode {
  readonly entry: QueueEntry;
  readonly list: LinkedList;
  prev: QueueNode | undefined;
  next: QueueNode | undefined;
}

/** A doubly linked list of nodes ordered by queueSeq: O(1) push at either end and removal. */
class LinkedList {
  head: QueueNode | undefined;
  tail: QueueNode | undefined;
  size = 0;

  insert(entry: QueueEntry): QueueNode {
    const node: QueueNode = { entry, list: this, prev: undefined, next: undefined };
    // New tasks land at the tail and requeued ones (lower queueSeq than any queued) at the
    // head, both in O(1); only an insert in between (none today) walks back from the tail.
    let after = this.tail;
    if (this.head !== undefined && entry.queueSeq < this.head.entry.queueSeq) after = undefined;
    else while (after !== undefined && after.entry.queueSeq > entry.queueSeq) after = after.prev;
    node.prev = after;
    node.next = after === undefined ? this.head : after.next;
    if (node.prev) node.prev.next = node;
    else this.head = node;
    if (node.next) node.next.prev = node;
    else this.tail = node;
    this.size++;
    return node;
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

/** Tasks of one kind and one target (or none), one list per priority. */
class Lane {
  readonly lists = new Map<Priority, LinkedList>(
    PRIORITIES_HIGH_FIRST.map((p) => [p, new LinkedList()]),
  );
  size = 0;
}

const ANY_MEMBER = '';

/**
 * The pending tasks: highest priority first, strictly FIFO within a priority, with
 * requeued tasks at the head of theirs. Tasks are split into lanes by kind and target so
 * that finding the next task a member can take costs O(kinds it runs), never a scan.
 * Pure: no I/O, no time.
 */
export class TaskQueue {
  private readonly lanes = new Map<string, Lane>();
  private readonly nodes = new Map<TaskId, QueueNode>();
  /** Kinds whose tasks are not offered to anyone (paused); they keep their places. */
  private readonly paused = new Set<string>();

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

  /** Adds a task at the place its queueSeq says. */
  push(entry: QueueEntry): void {
    if (this.nodes.has(entry.id)) throw new Error(`task ${entry.id} is already queued`);
    const key = laneKey(entry.kind, entry.targetMemberId ?? ANY_MEMBER);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane();
      this.lanes.set(key, lane);
    }
    const node = lane.lists.get(entry.priority)!.insert(entry);
    lane.size++;
    this.nodes.set(entry.id, node);
  }

  /** Removes a task; returns false if it was not queued. */
  remove(id: TaskId): boolean {
    const node = this.nodes.get(id);
    if (!node) return false;
    node.list.remove(node);
    this.nodes.delete(id);
    const key = laneKey(node.entry.kind, node.entry.targetMemberId ?? ANY_MEMBER);
    const lane = this.lanes.get(key)!;
    lane.size--;
    // Drop empty lanes so targeted lanes of departed members do not pile up.
    if (lane.size === 0) this.lanes.delete(key);
    return true;
  }

  /** The task `taker` should run next, without removing it. */
  peekFor(taker: Taker): QueueEntry | undefined {
    let best: QueueEntry | undefined;
    for (const kind of taker.kinds) {
      if (this.paused.size > 0 && this.paused.has(kind)) continue;
      for (const target of [ANY_MEMBER, taker.id]) {
        const lane = this.lanes.get(laneKey(kind, target));
        if (!lane) continue;
        for (const priority of PRIORITIES_HIGH_FIRST) {
          const head = lane.lists.get(priority)!.head;
          if (head === undefined) continue;
          if (best === undefined || comesBefore(head.entry, best)) best = head.entry;
          break;
        }
      }
    }
    return best;
  }

  /** Removes and returns the task `taker` should run next. */
  takeFor(taker: Taker): QueueEntry | undefined {
    const entry = this.peekFor(taker);
    if (entry) this.remove(entry.id);
    return entry;
  }
}

const PRIORITY_RANK: Readonly<Record<Priority, number>> = { high: 0, medium: 1, low: 2 };

function comesBefore(a: QueueEntry, b: QueueEntry): boolean {
  const byPriority = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  if (byPriority !== 0) return byPriority < 0;
  return a.queueSeq < b.queueSeq;
}

function laneKey(kind: string, target: string): string {
  return `${kind}\u0000${target}`;
}
