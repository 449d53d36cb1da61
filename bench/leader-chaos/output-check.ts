import type { GetTaskOutputResponse } from '../../src/gen/scheduler/v1/scheduler.js';
import { TestClients } from '../../test/helpers/grpc-clients.js';

/** Every LOGGING_EVERY-th task of the run logs: it works long enough to say its progress. */
export const LOGGING_EVERY = 10;
/** A logging task's work, ms: the demo handler logs at each quarter of 400 ms or more. */
export const LOGGING_MS: readonly [number, number] = [400, 800];
/** The lines a logging task's last attempt must hold, each once. */
const PROGRESS = ['25%', '50%', '75%', '100%'];

/** The id of task `n` of the run; logging tasks are marked so the check finds them. */
export function chaosTaskId(n: number): string {
  return n % LOGGING_EVERY === 0 ? `c${n}-log` : `c${n}`;
}

/** Whether a task of the run logs (see chaosTaskId). */
export function isLoggingTask(id: string): boolean {
  return id.endsWith('-log');
}

/** What the output of the logging tasks held after the run. */
export interface OutputCheck {
  /** Completed logging tasks whose output was read. */
  readonly tasks: number;
  /** Progress lines of a last attempt that its output lacks: must be 0. */
  readonly linesMissing: number;
  /** Progress lines of a last attempt kept more than once: must be 0. */
  readonly linesDuplicated: number;
  /** Tasks whose output could not be read (counted, not guessed at). */
  readonly unread: number;
}

/**
 * Reads every completed logging task's output from the active leader and checks that its
 * last attempt's progress lines are all there, each once: output written while leaders
 * were killed, frozen or cut off, sent again by the workers, kept once.
 */
export async function checkOutput(address: string, ids: readonly string[]): Promise<OutputCheck> {
  const api = new TestClients(address);
  let linesMissing = 0;
  let linesDuplicated = 0;
  let unread = 0;
  try {
    for (const id of ids) {
      try {
        const { attempt } = await api.task(id);
        const chunks = await readOutput(api, id);
        const text = chunks
          .filter((c) => c.attempt === attempt)
          .map((c) => c.data)
          .join('');
        const said = [...text.matchAll(/"progress":"(\d+%)"/g)].map((m) => m[1]!);
        linesMissing += PROGRESS.filter((p) => !said.includes(p)).length;
        linesDuplicated += said.length - new Set(said).size;
      } catch {
        unread++;
      }
    }
  } finally {
    api.close();
  }
  return { tasks: ids.length - unread, linesMissing, linesDuplicated, unread };
}

/** A finished task's whole output, over GetTaskOutput (no follow), within 5 s. */
function readOutput(api: TestClients, id: string): Promise<GetTaskOutputResponse[]> {
  return new Promise((resolve, reject) => {
    const chunks: GetTaskOutputResponse[] = [];
    const call = api.scheduler.getTaskOutput(
      { id, offset: 0, follow: false },
      { deadline: new Date(Date.now() + 5_000) },
    );
    call.on('data', (chunk: GetTaskOutputResponse) => chunks.push(chunk));
    call.on('error', reject);
    call.on('end', () => resolve(chunks));
  });
}
