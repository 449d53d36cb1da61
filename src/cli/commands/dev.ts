import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Command } from 'commander';
import { TaskPriority } from '../../gen/scheduler/v1/scheduler.js';
import { DROVER_BIN } from '../../shared/paths.js';
import { taskDraft } from '../../client/task-draft.js';
import { call, connect } from '../client.js';
import { boundedIntOption } from '../int-option.js';
import { print } from '../output.js';
import { stopSignal, SUPERVISED_ENV } from '../signals.js';
import type { LeaderListening } from '../../leader/main.js';
import { LISTENING } from './leader.js';

/** The leader's first default address, as client commands assume it. */
const DEFAULT_LEADER = '127.0.0.1:50051';
const STOP_GRACE_MS = 10_000;
const LEADER_START_TIMEOUT_MS = 15_000;
/** Local processes `drover dev` starts at most; each worker is a Node process. */
const MAX_DEV_WORKERS = 100;
/** The most slots the leader accepts from one member (MAX_SLOTS in leader-service.ts). */
const MAX_SLOTS = 10_000;
/** Demo tasks scheduled one call at a time at start. */
const MAX_DEMO_TASKS = 10_000;

/** `drover dev`'s options, as commander parses them. */
interface DevOptions {
  workers: number;
  slots: number;
  demoTasks: number;
  /** Passed to the leader as they are (it checks them). */
  listen?: string;
  httpListen?: string;
  dataDir?: string;
}

/**
 * `drover dev`: a leader on the default ports and N workers in one command, with readable
 * logs, plus a few demo tasks so there is something to watch. Ctrl-C stops them all.
 */
export function registerDev(program: Command): void {
  addDevOptions(
    program
      .command('dev')
      .description('start a local cluster: a leader, workers and some demo tasks'),
  ).action(runDev);
}

function addDevOptions(command: Command): Command {
  return command
    .addOption(
      boundedIntOption(
        '--workers <n>',
        'workers to start',
        { min: 1, max: MAX_DEV_WORKERS },
        { env: 'DROVER_DEV_WORKERS', defaultValue: 2 },
      ),
    )
    .addOption(
      boundedIntOption(
        '--slots <n>',
        'slots per worker',
        { min: 1, max: MAX_SLOTS },
        { env: 'DROVER_DEV_SLOTS', defaultValue: 2 },
      ),
    )
    .addOption(
      boundedIntOption(
        '--demo-tasks <n>',
        'demo tasks to schedule at start',
        { min: 0, max: MAX_DEMO_TASKS },
        { env: 'DROVER_DEV_DEMO_TASKS', defaultValue: 6 },
      ),
    )
    .option(
      '--listen <addresses>',
      "the leader's gRPC address(es) (default: its own, :50051,:50052)",
    )
    .option('--http-listen <address>', "the leader's HTTP address (default: its own, :8080)")
    .option('--data-dir <dir>', "the leader's data directory (default: its own)");
}

/** The leader's command line: its defaults, or the addresses and directory asked for. */
function leaderArgs(options: DevOptions): string[] {
  return [
    'leader',
    ...(options.listen === undefined ? [] : ['--listen', options.listen]),
    ...(options.httpListen === undefined ? [] : ['--http-listen', options.httpListen]),
    ...(options.dataDir === undefined ? [] : ['--data-dir', options.dataDir]),
  ];
}

async function runDev(options: DevOptions): Promise<void> {
  const stop = stopSignal();
  const children: ChildProcess[] = [];
  const start = (args: string[]): ChildProcess => {
    const child = startChild(args);
    children.push(child);
    return child;
  };
  // Last resort if this process dies without stopping them.
  process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
  const leader = start(leaderArgs(options));
  const leaderExit = once(leader, 'exit').then(([code]) => code as number | null);
  // This leader's own word on where it listens, never whatever answers on a default
  // port (another cluster may hold them).
  const where = await Promise.race([
    listeningOf(leader),
    leaderExit.then(() => undefined),
    once(stop, 'abort').then(() => undefined),
  ]);
  if (where === undefined) {
    if (!stop.aborted) {
      process.stderr.write(
        'drover dev: the leader did not start (its error is above); nothing else was started (ports taken? pick others with --listen and --http-listen)\n',
      );
      process.exitCode = 1;
    }
    await stopAll(children);
    return;
  }
  const address = where.addresses[0]!;
  for (let i = 1; i <= options.workers; i++) {
    const id = `worker-${i}`;
    start(['worker', '--id', id, '--slots', String(options.slots), '--leader', address]);
  }
  if (options.demoTasks > 0) {
    await scheduleDemoTasks(address, options.demoTasks).catch((err: unknown) => {
      process.stderr.write(`drover dev: could not schedule demo tasks: ${String(err)}\n`);
    });
  }
  printStarted(where, address, options.workers);

  const stopped = once(stop, 'abort').then(() => 'signal' as const);
  const outcome = await Promise.race([stopped, leaderExit.then(() => 'leader' as const)]);
  if (outcome === 'leader') {
    process.stderr.write('drover dev: the leader exited; stopping the workers\n');
    process.exitCode = 1;
  }
  await stopAll(children);
}

/** Starts `drover <args>` as a supervised child with readable logs. */
function startChild(args: string[]): ChildProcess {
  // Own process group: a Ctrl-C reaches only this process, which then stops the
  // workers (drain) before the leader, instead of every process at once.
  // An IPC channel: the leader says where it listens over it, and every child stops
  // when it closes (this process is gone, even by SIGKILL or a closed terminal).
  return spawn(process.execPath, [DROVER_BIN, ...args, '--log-format', 'pretty'], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // A local cluster is for watching: each task's lines too (debug), unless told otherwise.
    env: { DROVER_LOG_LEVEL: 'debug', ...process.env, [SUPERVISED_ENV]: '1' },
    detached: true,
  });
}

/** Tells the user where the cluster runs and what to try. */
function printStarted(where: LeaderListening, address: string, workers: number): void {
  const flag = address === DEFAULT_LEADER ? '' : ` --leader ${address}`;
  print(
    `\ndrover dev: leader on ${where.addresses.join(' and ')}` +
      `${where.http === undefined ? '' : ` (HTTP ${where.http})`}, ${workers} worker${workers === 1 ? '' : 's'}. Try:\n` +
      `  npx drover members${flag}\n  npx drover tasks${flag}\n  npx drover schedule${flag} 2000\n` +
      'Ctrl-C stops the cluster.\n',
  );
}

/**
 * Where the leader child listens, from its IPC message (see commands/leader.ts); undefined
 * if it says nothing within LEADER_START_TIMEOUT_MS.
 */
function listeningOf(leader: ChildProcess): Promise<LeaderListening | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), LEADER_START_TIMEOUT_MS);
    const onMessage = (message: unknown): void => {
      const m = message as { type?: unknown } & Partial<LeaderListening>;
      if (m.type === LISTENING && Array.isArray(m.addresses) && m.addresses.length > 0) {
        done({ addresses: m.addresses, http: m.http });
      }
    };
    const done = (where: LeaderListening | undefined): void => {
      clearTimeout(timer);
      leader.off('message', onMessage);
      resolve(where);
    };
    leader.on('message', onMessage);
  });
}

async function scheduleDemoTasks(leader: string, count: number): Promise<void> {
  const clients = connect({ leader, timeoutMs: 10_000, json: false });
  try {
    for (let i = 1; i <= count; i++) {
      await call(clients, clients.scheduler.scheduleTask.bind(clients.scheduler), {
        task: taskDraft({
          payload: String(500 + ((i * 700) % 2500)),
          priority:
            i % 3 === 0 ? TaskPriority.TASK_PRIORITY_HIGH : TaskPriority.TASK_PRIORITY_MEDIUM,
          kind: 'demo',
        }),
      });
    }
  } finally {
    clients.close();
  }
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  // Workers first so they drain and leave while the leader still answers.
  const leader = children[0];
  const workers = running.filter((c) => c !== leader);
  await stopChildren(workers);
  if (leader && running.includes(leader)) await stopChildren([leader]);
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }),
  );
}
