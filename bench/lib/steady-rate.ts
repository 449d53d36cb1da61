import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `call(n)` for n = 0, 1, 2, ... at a steady `ratePerSec` (each on its due time, not
 * after the previous one answered) until `endAtMs`, and at most as many times as the rate
 * allows in `durationMs`; resolves once every call has settled. Bounded by the clock and by
 * that count.
 */
export async function atSteadyRate(
  ratePerSec: number,
  durationMs: number,
  endAtMs: number,
  call: (n: number) => Promise<void>,
): Promise<void> {
  const gapMs = 1000 / ratePerSec;
  const startMs = Date.now();
  const inFlight = new Set<Promise<void>>();
  const most = Math.ceil((durationMs / 1000) * ratePerSec);
  for (let n = 0; n < most && Date.now() < endAtMs; n++) {
    const dueMs = startMs + n * gapMs;
    if (dueMs > Date.now()) await sleep(dueMs - Date.now());
    const settled: Promise<void> = call(n)
      .catch(() => {})
      .finally(() => inFlight.delete(settled));
    inFlight.add(settled);
  }
  await Promise.all(inFlight);
}
