import { drover } from '../helpers/cli-run.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { processGone } from '../helpers/process-state.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

const SDK_WORKER = fileURLToPath(new URL('../fixtures/sdk-worker.mjs', import.meta.url));

// Retry policy, timeouts, quarantine and drain against a real leader and real workers.
// Failing work is real too: the allow-listed `false` command exits with code 1.

describe('retries, timeouts, quarantine and drain', () => {
  const { cluster, clients } = useCluster();

  const finished = (api: ReturnType<typeof clients>, id: string) =>
    waitFor(
      async () => {
        const task = await api.task(id);
        const done =
          task.status === TaskStatus.TASK_STATUS_COMPLETED ||
          task.status === TaskStatus.TASK_STATUS_ERROR ||
          task.status === TaskStatus.TASK_STATUS_CANCELLED;
        return done && task;
      },
      { timeoutMs: 15_000, what: `task ${id} finished` },
    );

  it('retries a failing task up to its max attempts, backing off, and keeps the last error', async () => {
    const { address, process: leader } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w', ['--allow-command', 'false']);
    const api = clients(address);
    await api.schedule({
      id: 'flaky',
      kind: 'command',
      payload: 'false',
      maxAttempts: 3,
      retryBackoffMs: 100,
    });
    const task = await finished(api, 'flaky');
    expect(task).toMatchObject({
      status: TaskStatus.TASK_STATUS_ERROR,
      attempt: 3,
      maxAttempts: 3,
      retryBackoffMs: 100,
      error: 'command "false" exited with code 1',
    });
    expect(JSON.parse(task.result!)).toMatchObject({ exitCode: 1 });
    // Every attempt ran once, on the worker, in order.
    const runs = worker.linesWith('task started').filter((l) => l['taskId'] === 'flaky');
    expect(runs.map((l) => l['attempt'])).toEqual([1, 2, 3]);
    // The backoff doubled: 100 ms, then 200 ms, as the leader scheduled them.
    const retries = leader
      .linesWith('task attempt failed; retrying')
      .filter((l) => l['taskId'] === 'flaky');
    expect(retries).toHaveLength(2);
    expect(retries.map((l) => l['retryInMs'])).toEqual([100, 200]);
  });

  it('fails a refused command at once: a permanent error is not retried', async () => {
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w', ['--allow-command', 'echo']);
    const api = clients(address);
    await api.schedule({ id: 'rm', kind: 'command', payload: 'rm -rf /nothing', maxAttempts: 5 });
    const task = await finished(api, 'rm');
    expect(task).toMatchObject({ status: TaskStatus.TASK_STATUS_ERROR, attempt: 1 });
    expect(task.error).toMatch(/not allow-listed/);
    expect(worker.linesWith('task failed')).toHaveLength(1);
  });

  it('starts the retry of a timed-out command only once the old run has ended', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'drover-timeout-')), 'pids');
    const { address } = await cluster().startLeader();
    // Two slots: the retry could start beside the old run on this very worker.
    await cluster().startWorker(address, 'w', [
      ...['--slots', '2', '--allow-command', '/bin/sh', '--command-kill-grace-ms', '1000'],
    ]);
    const api = clients(address);
    // Deaf to SIGTERM: it runs on until SIGKILL, a second after its timeout.
    const script = `trap '' TERM; echo $$ >> ${pidFile}; sleep 60 & wait`;
    await api.schedule({
      id: 'deaf',
      kind: 'command',
      payload: JSON.stringify({ command: '/bin/sh', args: ['-c', script] }),
      timeoutMs: 500,
      maxAttempts: 2,
      retryBackoffMs: 0,
    });
    const [first] = await waitFor(
      () => {
        const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
        return pids.length === 2 && pids;
      },
      { timeoutMs: 15_000, what: 'attempt 2 to start' },
    );
    // Attempt 1 had ended (its worker reported it, after SIGKILL) before attempt 2 began.
    expect(processGone(first!)).toBe(true);
    const task = await finished(api, 'deaf');
    expect(task).toMatchObject({ attempt: 2, error: 'attempt 2 timed out after 500 ms' });
  });

  it('stops an attempt past its timeout on the worker, retries it, then fails it', async () => {
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w', ['--slots', '1']);
    const api = clients(address);
    await api.schedule({
      id: 'slow',
      payload: '60000',
      timeoutMs: 300,
      maxAttempts: 2,
      retryBackoffMs: 0,
    });
    const task = await finished(api, 'slow');
    expect(task).toMatchObject({
      status: TaskStatus.TASK_STATUS_ERROR,
      attempt: 2,
      error: 'attempt 2 timed out after 300 ms',
    });
    // The worker was told to stop each attempt for its timeout, and its handler did stop.
    // (A heartbeat crossing the timeout on the wire, still listing the attempt, may also
    // get it a stop "no longer runs on w", before or after: the same attempt, stopped once.)
    for (const attempt of [1, 2]) {
      await worker.waitForLine(
        (l) =>
          l.msg === 'stop received' &&
          l['taskId'] === 'slow' &&
          l['attempt'] === attempt &&
          l['reason'] === `attempt ${attempt} timed out after 300 ms`,
      );
    }
    await worker.waitForLine(
      (l) => l.msg === 'task failed' && l['taskId'] === 'slow' && l['attempt'] === 2,
    );
    const stopped = worker.linesWith('stop received').filter((l) => l['taskId'] === 'slow');
    expect(new Set(stopped.map((l) => l['attempt']))).toEqual(new Set([1, 2]));
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'slow')).toHaveLength(2);
    // Once the worker reported the stopped attempts, its slot is free for new work.
    await waitFor(async () => (await api.member('w'))?.slotsFree === 1, {
      timeoutMs: 5000,
      what: 'slot free again',
    });
    const next = await api.schedule({ payload: '1' });
    expect((await finished(api, next)).status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
  });

  it('quarantines a member whose attempts keep failing; Members says why; work goes elsewhere', async () => {
    const { address } = await cluster().startLeader([
      '--quarantine-after-failures',
      '2',
      '--quarantine-ms',
      '60000',
    ]);
    await cluster().startWorker(address, 'sick', ['--allow-command', 'false', '--slots', '1']);
    // A second member (it runs no commands): a sole worker is never held for failures, since
    // the failures may be the tasks' own and holding it would stop all work.
    await cluster().startWorker(address, 'healthy');
    const api = clients(address);
    for (const id of ['f1', 'f2']) {
      await api.schedule({ id, kind: 'command', payload: 'false', maxAttempts: 1 });
      await finished(api, id);
    }
    const sick = await waitFor(
      async () => {
        const member = await api.member('sick');
        return member?.quarantineReason !== '' && member;
      },
      { timeoutMs: 5000, what: 'sick quarantined' },
    );
    expect(sick).toMatchObject({
      status: 'alive',
      quarantineReason: '2 attempts in a row failed on it',
    });
    expect(sick.quarantinedUntil!.getTime()).toBeGreaterThan(Date.now() + 50_000);

    // New work goes only to the healthy member, though the quarantined one has a free slot.
    for (let i = 0; i < 4; i++) {
      const id = await api.schedule({ payload: '1' });
      expect(await finished(api, id)).toMatchObject({
        status: TaskStatus.TASK_STATUS_COMPLETED,
        memberId: 'healthy',
      });
    }
  });

  it('quarantines a worker that reports FAILED (SDK setHealth) until it is healthy again', async () => {
    const { address } = await cluster().startLeader(['--quarantine-ms', '300']);
    const sdk = cluster().spawnScript('sdk', SDK_WORKER, [address, 'sdk']);
    await sdk.waitForLine((l) => l.msg === 'worker joined');
    const api = clients(address);
    // The fixture calls setHealth(false) on SIGUSR2, and setHealth(true) on the next one.
    sdk.kill('SIGUSR2');
    const failed = await waitFor(
      async () => {
        const member = await api.member('sdk');
        return member?.quarantineReason.startsWith('worker reports FAILED') && member;
      },
      { timeoutMs: 5000, what: 'sdk quarantined' },
    );
    expect(failed.quarantineReason).toBe('worker reports FAILED: unhealthy (SIGUSR2)');
    // Renewed by each FAILED heartbeat: the listing names no end time that keeps moving.
    expect((await drover('members', '--leader', address)).stdout).toContain(
      'worker reports FAILED: unhealthy (SIGUSR2) (while it reports FAILED)',
    );
    const id = await api.schedule({ payload: '1' });
    expect((await api.task(id)).status).toBe(TaskStatus.TASK_STATUS_PENDING);
    sdk.kill('SIGUSR2');
    expect((await finished(api, id)).memberId).toBe('sdk');
    expect((await api.member('sdk'))?.quarantineReason).toBe('');
  });

  it('drains a member on request: no new work, its running task finishes', async () => {
    const { address } = await cluster().startLeader();
    const old = await cluster().startWorker(address, 'old', ['--slots', '2']);
    const api = clients(address);
    // Long enough to still run once the CLI, a process of its own, has started on a busy
    // machine (800 ms was not, once).
    await api.schedule({ id: 'long', payload: '3000' });
    await old.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    const drain = cluster().spawn('cli', ['drain', 'old', '--leader', address]);
    expect((await drain.exited).code).toBe(0);
    expect(drain.raw.join('\n')).toContain(
      'draining old: no new work; of its 1 task, those it has begun will finish',
    );
    expect(await api.member('old')).toMatchObject({
      status: 'draining',
      statusReason: 'drained by an operator',
    });
    const next = await api.schedule({ id: 'next', payload: '1' });
    expect((await api.task(next)).status).toBe(TaskStatus.TASK_STATUS_PENDING);
    await cluster().startWorker(address, 'new');
    expect(await finished(api, 'long')).toMatchObject({
      status: TaskStatus.TASK_STATUS_COMPLETED,
      memberId: 'old',
      attempt: 1,
    });
    expect((await finished(api, 'next')).memberId).toBe('new');
    // Still draining: it gets nothing more.
    expect((await api.member('old'))?.status).toBe('draining');

    // Undrained, it takes work again: a task pinned to it runs there.
    const undrain = cluster().spawn('cli', ['undrain', 'old', '--leader', address]);
    expect((await undrain.exited).code).toBe(0);
    expect(undrain.raw.join('\n')).toContain('old is alive: it takes new work again');
    expect(await api.member('old')).toMatchObject({
      status: 'alive',
      statusReason: 'undrained by an operator',
    });
    await api.schedule({ id: 'pinned', payload: '1', targetMemberId: 'old' });
    expect((await finished(api, 'pinned')).memberId).toBe('old');
  });

  it('refuses to drain an unknown member with NOT_FOUND', async () => {
    const { address } = await cluster().startLeader();
    const drain = cluster().spawn('cli', ['drain', 'ghost', '--leader', address]);
    const { code } = await drain.exited;
    expect(code).not.toBe(0);
    expect(drain.raw.join('\n')).toMatch(/NOT_FOUND|not found/);
  });
});
