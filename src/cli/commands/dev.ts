import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Command } from 'commander';
import { TaskPriority } from '../../gen/scheduler/v1/scheduler.js';
import { deadlineAfter } from '../../shared/clock.js';
import { DROVER_BIN } from '../../shared/paths.js';
import { taskDraft } from '../../client/task-draft.js';
import { call, connect } from '../client.js';
import { boundedIntOption } from '../int-option.js';
import { print } from '../output.js';
import { stopSignal } from '../signals.js';

const LEADER = '127.0.0.1:50051';
const STOP_GRACE_MS = 10_000;
const LEADER_START_TIMEOUT_MS = 15_000;
/** Local processes `drover dev` starts at most; each worker is a Node process. */
const MAX_DEV_WORKERS = 100;
/** The most slots the leader accepts from one member (MAX_SLOTS in leader-service.ts). */
const MAX_SLOTS = 10_000;
/** Demo tasks scheduled one call at a time at start. */
const MAX_DEMO_TASKS = 10_000;

/**
 * `drover dev`: a leader on the default ports and N workers in one command, with readable
 * logs, plus a few demo tasks so there is something to watch. Ctrl-C stops them all.
 */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('start a local cluster: a leader, workers and some demo tasks')
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
    .action(async (options: { workers: number; slots: number; demoTasks: number }) => {
      const stop = stopSignal();
      const children: ChildProcess[] = [];
      const start = (args: string[]): ChildProcess => {
        // Own process group: a Ctrl-C reaches only this process, which then stops the
        // workers (drain) before the leader, instead of every process at once.
        const child = spawn(process.execPath, [DROVER_BIN, ...args, '--log-format', 'pretty'], {
          stdio: 'inherit',
          detached: true,
        });
        children.push(child);
        return child;
      };
      // Last resort if this process dies without stopping them.
      process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
      const leader = start(['leader']);
      const leaderExit = once(leader, 'exit').then(([code]) => code as number | null);
      const ready = await Promise.race([waitForLeader(), leaderExit.then(() => false)]);
      if (ready) {
        for (let i = 1; i <= options.workers; i++) {
          const id = `worker-${i}`;
          start(['worker', '--id', id, '--slots', String(options.slots), '--leader', LEADER]);
        }
        if (options.demoTasks > 0) {
          await scheduleDemoTasks(options.demoTasks).catch((err: unknown) => {
            process.stderr.write(`drover dev: could not schedule demo tasks: ${String(err)}\n`);
          });
        }
      }
      print(
        `\ndrover dev: leader on ${LEADER} and :50052, ${options.workers} workers. Try:\n` +
          '  npx drover members\n  npx drover tasks\n  npx drover schedule 2000\n' +
          'Ctrl-C stops the cluster.\n',
      );

      const stopped = once(stop, 'abort').then(() => 'signal' as const);
      const outcome = await Promise.race([stopped, leaderExit.then(() => 'leader' as const)]);
      if (outcome === 'leader') {
        process.stderr.write('drover dev: the leader exited (is port 50051 or 50052 in use?)\n');
        process.exitCode = 1;
      }
      await stopAll(children);
    });
}

/** Resolves true once the leader accepts connections (bounded), false if it never did. */
async function waitForLeader(): Promise<boolean> {
  const clients = connect({ leader: LEADER, timeoutMs: LEADER_START_TIMEOUT_MS, json: false });
  try {
    return await new Promise<boolean>((resolve) => {
      clients.leader.waitForReady(deadlineAfter(LEADER_START_TIMEOUT_MS), (err) => resolve(!err));
    });
  } finally {
    clients.close();
  }
}

async function scheduleDemoTasks(count: number): Promise<void> {
  const clients = connect({ leader: LEADER, timeoutMs: 10_000, json: false });
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
