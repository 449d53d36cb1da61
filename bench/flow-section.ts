import { droverRateLimit } from './drover/rate-limit.js';
import { droverThroughput, type ThroughputSettings } from './drover/throughput.js';
import type { BenchStore } from './lib/drover-cluster.js';
import { progress } from './lib/progress.js';
import { rateAccuracy, type RateAccuracy } from './lib/rate-accuracy.js';
import { repeated, type Repeated } from './lib/stats.js';
import { bullmqRateLimit } from './peers/bullmq.js';

/** Throughput with and without concurrency keys (issue #18), one store. */
export interface KeyThroughputRow {
  readonly system: string;
  /** 0: tasks carry no key. */
  readonly keys: number;
  readonly maxRunning: number;
  readonly tasksPerSec: Repeated;
}

/** How one system's rate limiter kept to its rate. */
export interface RateRow extends RateAccuracy {
  readonly system: string;
  readonly limitPerSec: number;
  readonly tasks: number;
}

/** What the section needs of the suite. */
export interface FlowSectionContext {
  readonly tasks: number;
  readonly runs: number;
  readonly workers: number;
  readonly slots: number;
  readonly batchSize: number;
  readonly keyCount: number;
  readonly keyMaxRunning: number;
  readonly rateTasks: number;
  readonly ratePerSec: number;
  readonly stores: readonly BenchStore[];
  readonly withBullmq: boolean;
  readonly systemName: (store: BenchStore) => string;
  /** Runs one measure, recording a failure instead of throwing. */
  readonly attempt: <T>(what: string, measure: () => Promise<T>) => Promise<T | undefined>;
  readonly keyRows: KeyThroughputRow[];
  readonly rateRows: RateRow[];
  readonly save: () => void;
}

/**
 * The flow-control section: throughput of the same batch run with no keys and with
 * `keyCount` keys each limited to `keyMaxRunning` (the cost of the bookkeeping), then each
 * rate limiter held to `ratePerSec` with `rateTasks` tasks queued at once, drover's and
 * BullMQ's global limiter in the same run.
 */
export async function runFlowSection(ctx: FlowSectionContext): Promise<void> {
  // BENCH_KEY_TASKS=0 measures the rate limiters alone.
  for (const store of ctx.tasks > 0 ? ctx.stores : []) {
    for (const keys of [0, ctx.keyCount]) {
      const run: ThroughputSettings = {
        tasks: ctx.tasks,
        workers: ctx.workers,
        slots: ctx.slots,
        mode: 'batch',
        batchSize: ctx.batchSize,
        window: 4,
        store,
        keys: keys === 0 ? undefined : { count: keys, maxRunning: ctx.keyMaxRunning },
      };
      const rates: number[] = [];
      for (let i = 1; i <= ctx.runs; i++) {
        const what = `keys ${ctx.systemName(store)}: ${ctx.tasks} tasks, ${keys === 0 ? 'no keys' : `${keys} keys of ${ctx.keyMaxRunning}`}, run ${i}/${ctx.runs}`;
        progress(what);
        const outcome = await ctx.attempt(what, () => droverThroughput(run));
        if (outcome) rates.push(outcome.tasksPerSec);
      }
      if (rates.length > 0) {
        ctx.keyRows.push({
          system: ctx.systemName(store),
          keys,
          maxRunning: ctx.keyMaxRunning,
          tasksPerSec: repeated(rates),
        });
      }
      ctx.save();
    }
  }
  const limiters: [string, () => Promise<number[]>][] = ctx.stores.map((store) => [
    ctx.systemName(store),
    () => droverRateLimit(ctx.rateTasks, ctx.ratePerSec, ctx.workers, ctx.slots, store),
  ]);
  if (ctx.withBullmq) {
    limiters.push([
      'bullmq',
      () => bullmqRateLimit(ctx.rateTasks, ctx.ratePerSec, ctx.workers, ctx.slots),
    ]);
  }
  for (const [system, measure] of limiters) {
    const what = `rate ${system}: ${ctx.rateTasks} tasks held to ${ctx.ratePerSec}/s`;
    progress(what);
    const starts = await ctx.attempt(what, measure);
    if (starts) {
      ctx.rateRows.push({
        system,
        limitPerSec: ctx.ratePerSec,
        tasks: ctx.rateTasks,
        ...rateAccuracy(starts, 1000),
      });
    }
    ctx.save();
  }
}
