import type { Clock } from '../../src/shared/clock.js';

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  constructor(private currentMs = 1_000_000) {}

  nowMs(): number {
    return this.currentMs;
  }

  advance(ms: number): void {
    this.currentMs += ms;
  }
}
