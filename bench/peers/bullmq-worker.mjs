// A BullMQ worker process with an empty processor, for the peer benchmark.
//   node bench/peers/bullmq-worker.mjs <queue> <concurrency> [<limiter max> <limiter duration ms>]
import { Worker } from 'bullmq';
import IORedis from 'ioredis';

const [queueName, concurrency, limitMax, limitDurationMs] = process.argv.slice(2);
const connection = new IORedis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
const worker = new Worker(
  queueName,
  async () => String(performance.timeOrigin + performance.now()),
  {
    connection,
    concurrency: Number(concurrency),
    // BullMQ's global rate limiter: at most `max` jobs per `duration` across all workers.
    ...(limitMax === undefined
      ? {}
      : { limiter: { max: Number(limitMax), duration: Number(limitDurationMs) } }),
  },
);
await worker.waitUntilReady();
process.stdout.write(JSON.stringify({ msg: 'worker joined' }) + '\n');
process.on(
  'SIGTERM',
  () =>
    void worker
      .close()
      .then(() => connection.quit())
      .then(() => process.exit(0)),
);
