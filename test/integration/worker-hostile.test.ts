import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TaskStatus, type TestClients } from '../helpers/grpc-clients.js';
import type { DroverProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Adversarial handlers and commands (issue #14), on real leader and worker processes.

const HOSTILE = fileURLToPath(new URL('../fixtures/hostile-sdk-worker.mjs', import.meta.url));
const MiB = 1024 * 1024;

/** Waits until a task has ended (completed, failed or cancelled) and returns it. */
function ended(api: TestClients, id: string, timeoutMs = 10_000) {
  const done = new Set<TaskStatus | undefined>([
    TaskStatus.TASK_STATUS_COMPLETED,
    TaskStatus.TASK_STATUS_ERROR,
    TaskStatus.TASK_STATUS_CANCELLED,
  ]);
  return waitFor(
    async () => {
      const task = await api.task(id);
      return done.has(task.status) && task;
    },
    { timeoutMs, what: `task ${id} to end` },
  );
}

/** True while `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('a worker facing hostile handlers and commands', () => {
  const { cluster, clients } = useCluster();

  async function startHostile(address: string, id: string, options: object = {}) {
    const worker = cluster().spawnScript(id, HOSTILE, [address, id, JSON.stringify(options)]);
    await worker.waitForLine((l) => l.msg === 'worker joined');
    return worker;
  }

  /** The worker is still itself: same process, joined once, and it runs new work. */
  async function stillServing(api: TestClients, worker: DroverProcess, maxJoins = 1) {
    expect(worker.running).toBe(true);
    const id = await api.schedule({ payload: 'after' });
    expect(await ended(api, id)).toMatchObject({
      status: TaskStatus.TASK_STATUS_COMPLETED,
      result: 'ok',
    });
    expect(worker.linesWith('worker joined').length).toBeLessThanOrEqual(maxJoins);
    expect(worker.raw.join('\n')).not.toContain('MaxListenersExceededWarning');
  }

  it('fails a task whose result is over --result-limit-bytes, keeping its head; 5 MB and 50 MB', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const worker = await startHostile(address, 'big', { slots: 2 });
    const api = clients(address);

    for (const bytes of [5_000_000, 50_000_000]) {
      const id = await api.schedule({ kind: 'big', payload: String(bytes), maxAttempts: 3 });
      const task = await ended(api, id, 20_000);
      expect(task.status).toBe(TaskStatus.TASK_STATUS_ERROR);
      expect(task.attempt).toBe(1); // permanent: another attempt would return the same
      expect(task.error).toBe(
        `result too large: ${bytes} bytes of UTF-8, over this worker's limit of ${MiB} ` +
          '(--result-limit-bytes, SDK option resultLimitBytes); its first bytes are kept',
      );
      expect(task.result!.startsWith('x'.repeat(1000))).toBe(true);
      expect(
        task.result!.endsWith(`[result truncated on the worker at ${MiB} of ${bytes} bytes]`),
      ).toBe(true);
      expect(task.result!.length).toBeLessThan(MiB + 100);
    }
    await stillServing(api, worker);
  });

  it('turns a report the leader refuses as too large into a short failure, and goes on', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    // A result limit over the leader's 4 MiB message limit: the misconfiguration that made
    // a worker resend one report on every new stream, forever.
    const worker = await startHostile(address, 'over', { slots: 1, resultLimitBytes: 8 * MiB });
    const api = clients(address);

    const id = await api.schedule({ kind: 'big', payload: String(5 * MiB), maxAttempts: 3 });
    const task = await ended(api, id, 20_000);
    expect(task.status).toBe(TaskStatus.TASK_STATUS_ERROR);
    expect(task.attempt).toBe(1);
    expect(task.error).toMatch(
      /^the leader refused this attempt's report of about \d+ bytes \(.+\); its result was dropped on the worker/,
    );
    expect(task.result ?? '').toBe('');
    // One join, plus the one after the leader ended the stream that carried the report.
    await stillServing(api, worker, 2);
  });

  it('fails only its task for anything a handler throws, with a readable, bounded error', async () => {
    // Ten failures in a row would quarantine the worker; here they are the point.
    const { address } = await cluster().startLeader([
      '--store',
      'memory',
      '--quarantine-after-failures',
      '0',
    ]);
    const worker = await startHostile(address, 'thrower', { slots: 2 });
    const api = clients(address);
    const expected: Record<string, string | RegExp> = {
      null: 'the handler threw null',
      undefined: 'the handler threw undefined',
      symbol: 'the handler threw Symbol(hostile)',
      number: 'the handler threw 42',
      'null-prototype': 'the handler threw an object without prototype: {}',
      'throwing-tostring': 'the handler threw an object: {}',
      'throwing-message': 'the handler threw Error without a readable message',
      'throwing-proxy':
        'the handler threw an object that cannot be shown (no usable toString or JSON)',
      cyclic: 'the handler threw an object that cannot be shown (no usable toString or JSON)',
      'huge-string': /^x{16384}… \[cut at 16384 of 20000000 characters\]$/,
    };

    for (const [name, error] of Object.entries(expected)) {
      const id = await api.schedule({ id: name, kind: 'throw', payload: name, maxAttempts: 1 });
      const task = await ended(api, id);
      expect(task.status, name).toBe(TaskStatus.TASK_STATUS_ERROR);
      if (typeof error === 'string') expect(task.error, name).toBe(error);
      else expect(task.error, name).toMatch(error);
    }
    await stillServing(api, worker);
  });

  it('gives up on a handler that ignores its signal after --stop-grace-ms, on cancel and on timeout', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const worker = await startHostile(address, 'stuck', { slots: 1, stopGraceMs: 300 });
    const api = clients(address);

    // Cancel: the slot comes back once the grace is over.
    await api.schedule({ id: 'cancelled', kind: 'stuck', payload: 'x' });
    await worker.waitForLine((l) => l.msg === 'stuck handler started');
    expect((await api.cancel('cancelled'))?.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
    const gaveUp = await worker.waitForLine(
      (l) => l.msg === 'task failed' && l['taskId'] === 'cancelled',
    );
    expect(gaveUp['error']).toBe(
      'stopped: cancelled; the handler did not stop within 300 ms (--stop-grace-ms, SDK option stopGraceMs), ' +
        'so the worker gave up on it and freed its slot',
    );
    await stillServing(api, worker);

    // Timeout: the leader stops the attempt; the worker gives up on it the same way.
    await api.schedule({
      id: 'timed-out',
      kind: 'stuck',
      payload: 'x',
      timeoutMs: 300,
      maxAttempts: 1,
    });
    expect(await ended(api, 'timed-out')).toMatchObject({
      status: TaskStatus.TASK_STATUS_ERROR,
    });
    await worker.waitForLine(
      (l) =>
        l.msg === 'task failed' &&
        l['taskId'] === 'timed-out' &&
        String(l['error']).includes('the handler did not stop within 300 ms'),
    );
    await stillServing(api, worker);
  });

  it('exits 2 at once, with one clear line, when its id is in use by another worker', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'twin');
    const startedAt = performance.now();
    const second = cluster().spawn('twin-2', ['worker', '--leader', address, '--id', 'twin']);
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(performance.now() - startedAt).toBeLessThan(10_000); // not the 5 min give-up
    const stderr = second.raw.filter((line) => line.startsWith('[stderr]'));
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(
      /^\[stderr\] drover: worker id "twin" is already in use by another worker process \(.+\); give each worker its own --id \(DROVER_WORKER_ID; SDK option id\)$/,
    );
  });

  it('exits 2 at once, with one clear line, when the leader refuses its Join as invalid', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    // A 300-character id passes the worker's own checks and is refused by the leader.
    const worker = cluster().spawn('bad-id', [
      'worker',
      '--leader',
      address,
      '--id',
      'w'.repeat(300),
    ]);
    const { code } = await worker.exited;
    expect(code).toBe(2);
    const stderr = worker.raw.filter((line) => line.startsWith('[stderr]'));
    expect(stderr).toEqual([
      `[stderr] drover: the leader refused this worker: member id "${'w'.repeat(64)}..." is 300 characters; the most is 256; fix the worker's settings`,
    ]);
  });
});

describe('a command task that forks', () => {
  const { cluster, clients } = useCluster();
  const bash = (script: string) => JSON.stringify({ command: 'bash', args: ['-c', script] });

  /** Pids of the command (from its start line) and of its background child (its first line). */
  async function pidsOf(http: string, id: string): Promise<{ command: number; child: number }> {
    return waitFor(
      async () => {
        const text = await (await fetch(`${http}/v1/tasks/${id}/output`)).text();
        const command = /"pid":(\d+)/.exec(text)?.[1];
        const child = /^(\d+)$/m.exec(text)?.[1];
        return command && child ? { command: Number(command), child: Number(child) } : undefined;
      },
      { timeoutMs: 10_000, what: `pids in the output of ${id}` },
    );
  }

  function gone(pid: number, what: string): Promise<true> {
    return waitFor(() => !processAlive(pid), { timeoutMs: 10_000, what: `${what} (${pid}) gone` });
  }

  it('ends the task when the command exits, though a background child holds its stdout; no orphan', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w', ['--allow-command', 'bash', '--slots', '1']);
    const api = clients(address);

    const id = await api.schedule({
      kind: 'command',
      payload: bash('sleep 300 & echo $!; exit 0'),
    });
    const task = await ended(api, id);
    expect(task.status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    const output = JSON.parse(task.result!) as { exitCode: number; stdout: string };
    expect(output.exitCode).toBe(0);
    await gone(Number(output.stdout.trim()), 'the background sleep');
  });

  it('kills the whole process group on cancel and on timeout, SIGKILL after the grace', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    const worker = await cluster().startWorker(address, 'w', [
      '--allow-command',
      'bash',
      '--slots',
      '1',
      '--command-kill-grace-ms',
      '300',
    ]);
    const api = clients(address);
    // SIGTERM is ignored by bash and (inherited) by its child: only SIGKILL ends them.
    const stubborn = bash(`trap '' TERM; sleep 300 & echo $!; wait`);

    const cancelled = await api.schedule({ id: 'cancelled', kind: 'command', payload: stubborn });
    const first = await pidsOf(http, cancelled);
    expect(processAlive(first.child)).toBe(true);
    await api.cancel(cancelled);
    await gone(first.command, 'bash');
    await gone(first.child, 'its background sleep');
    await worker.waitForLine((l) => l.msg === 'task failed' && l['taskId'] === cancelled);

    const timedOut = await api.schedule({
      id: 'timed-out',
      kind: 'command',
      payload: stubborn,
      timeoutMs: 2000,
      maxAttempts: 1,
    });
    const second = await pidsOf(http, timedOut);
    expect((await ended(api, timedOut)).status).toBe(TaskStatus.TASK_STATUS_ERROR);
    await gone(second.command, 'bash');
    await gone(second.child, 'its background sleep');

    // The slot is free again.
    const next = await api.schedule({ kind: 'command', payload: 'bash -c true' });
    expect((await ended(api, next)).status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
  });
});
