/**
 * The queue positions (`TaskRecord.queueSeq`) handed out at both ends of the queue: a new
 * task takes one after every position so far and lands at the tail of its priority, a
 * requeued task one before every position so far and lands at the head, each in O(1).
 * Positions only, not creation order: that is `TaskIndex.nextSeq`, and a requeued task
 * keeps its creation seq.
 */
export class QueueSeqs {
  private lastTail = 0;
  private lastHead = 0;

  /** Widens both ends over a restored task's position, so no later one repeats it. */
  observe(queueSeq: number): void {
    this.lastTail = Math.max(this.lastTail, queueSeq);
    this.lastHead = Math.min(this.lastHead, queueSeq);
  }

  /** A position after every one handed out or observed: the tail of any priority. */
  nextTail(): number {
    return ++this.lastTail;
  }

  /** A position before every one handed out or observed: the head of any priority. */
  nextHead(): number {
    return --this.lastHead;
  }
}
