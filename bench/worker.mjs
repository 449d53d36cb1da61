// A benchmark worker: the drover SDK (compiled) with handlers that do no work, so the
// figures measure drover, not the work. Logs at warn so they cost nothing per task.
//   node bench/worker.mjs <leader> <id> <slots>
import { createLogger } from '../dist/shared/logger.js';
import { createWorker } from '../dist/worker/sdk.js';

const [leader, id, slots] = process.argv.slice(2);
const logger = createLogger({ level: 'warn', format: 'json', name: 'bench-worker' });
/** Returns when the handler started (fractional epoch ms), for schedule-to-start latency. */
const empty = () => String(performance.timeOrigin + performance.now());
/** Holds its slot until stopped (detection trials); payload: ms. */
const hold = ({ payload, signal }) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, Number(payload));
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
const worker = createWorker({
  leaders: [leader],
  id,
  slots: Number(slots),
  handlers: { default: empty, hold },
  logger,
  reconnect: { giveUpAfterMs: 30_000 },
});
await worker.joined;
process.stdout.write(JSON.stringify({ msg: 'worker joined', memberId: id }) + '\n');
process.on('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
