import type { Taker } from '../../../src/scheduler/queue.js';
import type { WorkerSlots } from '../../../src/scheduler/worker-slots.js';

/** Workers in either line for work (a free slot, or room to prefetch). */
export const readyCount = (slots: WorkerSlots): number =>
  slots.lineSize('free') + slots.lineSize('ahead');

/** Takes the first worker in line for work: the `free` line while it has any, else `ahead`. */
export const nextReady = (slots: WorkerSlots): Taker | undefined =>
  slots.nextIn(slots.lineSize('free') > 0 ? 'free' : 'ahead');
