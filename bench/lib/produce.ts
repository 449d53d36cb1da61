import type { ThroughputSettings } from '../drover/throughput.js';

/**
 * Schedules `settings.tasks` tasks the way every system's throughput run does: one call per
 * task (`single`) or batches of `batchSize`, with `window` calls in flight. Only the calls
 * differ between systems.
 */
export async function produce(
  settings: ThroughputSettings,
  scheduleOne: () => Promise<unknown>,
  scheduleBatch: (size: number) => Promise<unknown>,
): Promise<void> {
  const calls =
    settings.mode === 'batch' ? Math.ceil(settings.tasks / settings.batchSize) : settings.tasks;
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < calls) {
      const call = next++;
      if (settings.mode !== 'batch') await scheduleOne();
      else
        await scheduleBatch(
          Math.min(settings.batchSize, settings.tasks - call * settings.batchSize),
        );
    }
  };
  await Promise.all(Array.from({ length: settings.window }, producer));
}
