// A graphile-worker process with an empty task, for the peer benchmark.
//   node bench/peers/graphile-worker.mjs <connectionString> <concurrency> <maxPoolSize>
import { Logger, run } from 'graphile-worker';

const [connectionString, concurrency, maxPoolSize] = process.argv.slice(2);
const runner = await run({
  connectionString,
  concurrency: Number(concurrency),
  maxPoolSize: Number(maxPoolSize),
  noHandleSignals: true,
  pollInterval: 1000,
  taskList: {
    noop: async () => {},
    // Records when it started, for schedule-to-start latency (light rate only).
    stamp: async (payload, helpers) => {
      await helpers.query('insert into bench_starts (id, started_ms) values ($1, $2)', [
        payload.id,
        performance.timeOrigin + performance.now(),
      ]);
    },
  },
  logger: new Logger(() => () => {}),
});
process.stdout.write(JSON.stringify({ msg: 'worker joined' }) + '\n');
process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));
