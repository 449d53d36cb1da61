import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

describe('tasks end to end', () => {
  const { cluster, clients } = useCluster();

  it('schedules, runs and completes a task on a real worker', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    const api = clients(address);

    const id = await api.schedule({ payload: '20' });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const done = await waitFor(
      async () => {
        const task = await api.task(id);
        return task.status === TaskStatus.TASK_STATUS_COMPLETED && task;
      },
      { timeoutMs: 5000, what: 'task completed' },
    );
    expect(done).toMatchObject({
      attempt: 1,
      memberId: 'w1',
      result: 'worked 20 ms',
      kind: 'default',
    });
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(done.createdAt!.getTime());
    expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt!.getTime());
  });

  it('uses every slot of every worker and queues the rest FIFO', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    await cluster().startWorker(address, 'w2', ['--slots', '3']);
    const api = clients(address);

    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await api.schedule({ id: `t${i}`, payload: '60000' }));
    const members = await waitFor(
      async () => {
        const all = await api.members();
        return all.every((m) => m.slotsFree === 0) && all;
      },
      { timeoutMs: 5000, what: 'every slot busy' },
    );
    expect(members.map((m) => [m.id, m.runningTaskIds.length])).toEqual([
      ['w1', 2],
      ['w2', 3],
    ]);
    const tasks = await api.tasks();
    // The first five scheduled are running; the last two wait, in order.
    expect(tasks.map((t) => t.status)).toEqual([
      ...Array(5).fill(TaskStatus.TASK_STATUS_RUNNING),
      TaskStatus.TASK_STATUS_PENDING,
      TaskStatus.TASK_STATUS_PENDING,
    ]);

    // Cancelling a running task frees its slot for the next pending one (t5, then t6).
    const cancelled = await api.cancel('t0');
    expect(cancelled?.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
    await waitFor(async () => (await api.task('t5')).status === TaskStatus.TASK_STATUS_RUNNING, {
      timeoutMs: 5000,
      what: 't5 to start in the freed slot',
    });
    expect((await api.task('t6')).status).toBe(TaskStatus.TASK_STATUS_PENDING);
  });

  it('cancels a pending task at once and stops a running one on its worker', async () => {
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w1', ['--slots', '1']);
    const api = clients(address);

    await api.schedule({ id: 'running', payload: '60000' });
    await api.schedule({ id: 'pending', payload: '10' });
    await waitFor(
      async () => (await api.task('running')).status === TaskStatus.TASK_STATUS_RUNNING,
      {
        timeoutMs: 5000,
        what: 'task running',
      },
    );

    const pending = await api.cancel('pending');
    expect(pending).toMatchObject({ status: TaskStatus.TASK_STATUS_CANCELLED, attempt: 0 });

    const running = await api.cancel('running');
    expect(running).toMatchObject({ status: TaskStatus.TASK_STATUS_CANCELLED, attempt: 1 });
    // The worker's handler saw its signal fire and ended the attempt.
    await worker.waitForLine(
      (l) =>
        l.msg === 'task failed' &&
        l['taskId'] === 'running' &&
        /stopped: cancelled/.test(String(l['error'])),
    );
    // Its slot is free again, and the cancelled pending task never ran.
    await waitFor(async () => (await api.member('w1'))?.slotsFree === 1, {
      timeoutMs: 5000,
      what: 'slot freed',
    });
    expect(worker.lines.some((l) => l.msg === 'task started' && l['taskId'] === 'pending')).toBe(
      false,
    );
    expect((await api.task('running')).status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
  });

  it('runs higher priority first and keeps FIFO within a priority', async () => {
    const { address } = await cluster().startLeader();
    const api = clients(address);
    // No worker yet: everything queues, then one single-slot worker drains the queue.
    const order = [
      ['l1', 1],
      ['m1', 2],
      ['h1', 3],
      ['l2', 1],
      ['m2', 2],
      ['h2', 3],
      ['m3', 0],
    ] as const;
    for (const [id, priority] of order) await api.schedule({ id, payload: '1', priority });
    const worker = await cluster().startWorker(address, 'w1', ['--slots', '1']);
    await waitFor(
      async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === order.length,
      {
        timeoutMs: 10_000,
        what: 'all tasks completed',
      },
    );
    const started = worker.linesWith('task started').map((l) => l['taskId']);
    // UNSPECIFIED (0) counts as MEDIUM.
    expect(started).toEqual(['h1', 'h2', 'm1', 'm2', 'm3', 'l1', 'l2']);
  });

  it('runs allow-listed commands, captures output, and refuses others', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'cmd', [
      '--allow-command',
      'echo',
      '--output-limit-bytes',
      '8',
    ]);
    await cluster().startWorker(address, 'plain');
    const api = clients(address);

    await api.schedule({
      id: 'echo',
      kind: 'command',
      payload: '{"command":"echo","args":["hello","world"]}',
    });
    await api.schedule({ id: 'rm', kind: 'command', payload: 'rm -rf /tmp/nothing-here' });
    const echo = await waitFor(
      async () => {
        const t = await api.task('echo');
        return t.status === TaskStatus.TASK_STATUS_COMPLETED && t;
      },
      { timeoutMs: 5000, what: 'echo completed' },
    );
    // Only the worker that allow-lists commands offers the command kind.
    expect(echo.memberId).toBe('cmd');
    expect(JSON.parse(echo.result!)).toEqual({
      exitCode: 0,
      signal: null,
      stdout: 'hello wo',
      stderr: '',
      truncated: true,
    });
    const rm = await waitFor(
      async () => {
        const t = await api.task('rm');
        return t.status === TaskStatus.TASK_STATUS_ERROR && t;
      },
      { timeoutMs: 5000, what: 'rm refused' },
    );
    expect(rm.error).toMatch(/command "rm" is not allow-listed on worker cmd/);
  });

  it('does not offer command tasks to a worker without an allow-list', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'plain');
    const api = clients(address);
    await api.schedule({ id: 'c', kind: 'command', payload: 'echo hi' });
    await api.schedule({ id: 'd', payload: '1' });
    await waitFor(async () => (await api.task('d')).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5000,
      what: 'demo task done',
    });
    expect(await api.member('plain')).toMatchObject({ kinds: ['default', 'demo'] });
    expect((await api.task('c')).status).toBe(TaskStatus.TASK_STATUS_PENDING);
  });

  it('runs a task only on its target member', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'a');
    await cluster().startWorker(address, 'b');
    const api = clients(address);
    for (let i = 0; i < 6; i++)
      await api.schedule({ id: `t${i}`, payload: '1', targetMemberId: 'b' });
    const done = await waitFor(
      async () => {
        const all = await api.tasks(TaskStatus.TASK_STATUS_COMPLETED);
        return all.length === 6 && all;
      },
      { timeoutMs: 5000, what: 'targeted tasks done' },
    );
    expect(new Set(done.map((t) => t.memberId))).toEqual(new Set(['b']));
  });

  it('drains a worker on SIGTERM: no new work, running tasks finish, then it leaves', async () => {
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w1', ['--slots', '1']);
    const api = clients(address);
    await api.schedule({ id: 'finishing', payload: '500' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'finishing');
    worker.kill('SIGTERM');
    await waitFor(async () => (await api.member('w1'))?.status === 'draining', {
      timeoutMs: 5000,
      what: 'draining',
    });
    await api.schedule({ id: 'later', payload: '1' });
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    expect(await api.task('finishing')).toMatchObject({
      status: TaskStatus.TASK_STATUS_COMPLETED,
      attempt: 1,
    });
    expect(await api.task('later')).toMatchObject({
      status: TaskStatus.TASK_STATUS_PENDING,
      attempt: 0,
    });
    expect((await api.member('w1'))?.status).toBe('left');
  });
});
