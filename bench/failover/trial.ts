import { spawn } from 'node:child_process';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { taskDraft } from '../../src/client/task-draft.js';
import { SchedulerServiceClient } from '../../src/gen/scheduler/v1/scheduler.js';
import { TestClients } from '../../test/helpers/grpc-clients.js';
import { DroverProcess, DROVER_BIN } from '../../test/helpers/processes.js';

/** The fault a trial does to the active leader. */
export type LeaderFault = 'SIGKILL' | 'SIGSTOP';

/** One trial's times, in ms from the fault. */
export interface FailoverTrial {
  readonly fault: LeaderFault;
  /** The standby logged that it took over. */
  readonly takeoverMs: number;
  /** The worker started a task scheduled after the fault (the figure that counts). */
  readonly firstStartMs: number;
}

/** Where the trial's leaders keep their group. */
export interface TrialSetting {
  readonly databaseUrl: string;
  readonly schema: string;
}

/**
 * One failover, with real processes and default timings: two leaders on one schema and a
 * worker given both; a task proves the worker is attached; then the active leader gets the
 * fault, and a prober schedules one task (retrying every 10 ms, following refusals) until
 * the worker starts it. Everything is torn down before it returns.
 */
export async function runTrial(fault: LeaderFault, setting: TrialSetting): Promise<FailoverTrial> {
  const processes: DroverProcess[] = [];
  const start = (name: string, args: string[]): DroverProcess => {
    const proc = new DroverProcess(
      name,
      // debug: the trial reads the worker's per-task lines (task started, finished).
      spawn(process.execPath, [DROVER_BIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DROVER_LOG_LEVEL: 'debug' },
      }),
    );
    processes.push(proc);
    return proc;
  };
  const group = [
    '--store',
    'postgres',
    '--database-url',
    setting.databaseUrl,
    '--database-schema',
    setting.schema,
    '--listen',
    '127.0.0.1:0',
    '--no-http',
  ];
  try {
    const first = start('leader-1', ['leader', ...group]);
    const firstAddress = await listening(first);
    await first.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    const second = start('leader-2', ['leader', ...group]);
    const secondAddress = await listening(second);
    const both = `${firstAddress},${secondAddress}`;
    const worker = start('worker', ['worker', '--leader', both, '--id', 'w1', '--slots', '2']);
    await worker.waitForLine((l) => l.msg === 'worker joined', 15_000);
    await new TestClients(firstAddress).schedule({ id: 'warm', payload: '1' });
    await worker.waitForLine((l) => l.msg === 'task finished' && l['taskId'] === 'warm', 15_000);

    const faultAt = Date.now();
    first.kill(fault);
    await schedulePersistently([firstAddress, secondAddress], 'probe', faultAt + 60_000);
    const started = await worker.waitForLine(
      (l) => l.msg === 'task started' && l['taskId'] === 'probe',
      60_000,
    );
    const tookOver = await second.waitForLine((l) => l.msg === 'leader active: took over', 1_000);
    if (fault === 'SIGSTOP') first.kill('SIGCONT');
    return {
      fault,
      takeoverMs: Number(tookOver['time']) - faultAt,
      firstStartMs: Number(started['time']) - faultAt,
    };
  } finally {
    for (const proc of processes) proc.kill('SIGCONT');
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
  }
}

async function listening(proc: DroverProcess): Promise<string> {
  const line = await proc.waitForLine((l) => l.msg === 'leader listening', 15_000);
  return (line['addresses'] as string[])[0]!;
}

/**
 * Schedules `id` until a leader acknowledges it (ALREADY_EXISTS counts: an earlier try
 * was saved), trying every 10 ms and moving to the leader a refusal names. Bounded by
 * `deadlineMs` (wall clock).
 */
async function schedulePersistently(
  addresses: readonly string[],
  id: string,
  deadlineMs: number,
): Promise<void> {
  const clients = new Map(
    addresses.map((a) => [a, new SchedulerServiceClient(a, credentials.createInsecure())]),
  );
  let target = addresses[0]!;
  try {
    while (Date.now() < deadlineMs) {
      try {
        await scheduleOnce(clients.get(target)!, id);
        return;
      } catch (err) {
        const e = err as ServiceError;
        if (e.code === status.ALREADY_EXISTS) return; // an earlier try was saved
        const hint = e.metadata?.get('drover-leader')[0];
        if (typeof hint === 'string' && clients.has(hint)) target = hint;
        else target = addresses[(addresses.indexOf(target) + 1) % addresses.length]!;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    throw new Error(`no leader acknowledged ${id} in time`);
  } finally {
    for (const c of clients.values()) c.close();
  }
}

/** One ScheduleTask with a short deadline: a frozen leader must not hold the prober. */
function scheduleOnce(client: SchedulerServiceClient, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.scheduleTask(
      { task: taskDraft({ id, payload: '1' }) },
      new Metadata(),
      { deadline: new Date(Date.now() + 300) },
      (err) => (err ? reject(err) : resolve()),
    );
  });
}
