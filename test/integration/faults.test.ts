import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { processGone } from '../helpers/process-state.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

describe('worker faults', () => {
  const { cluster, clients } = useCluster();

  it('loses no task when a worker is killed with SIGKILL: its tasks run elsewhere', async () => {
    const { address, process: leader } = await cluster().startLeader();
    const victim = await cluster().startWorker(address, 'victim', ['--slots', '2']);
    const api = clients(address);
    await api.schedule({ id: 'a', payload: '60000' });
    await api.schedule({ id: 'b', payload: '60000' });
    await waitFor(async () => (await api.member('victim'))?.slotsFree === 0, {
      timeoutMs: 5000,
      what: 'victim busy',
    });
    // The survivor joins only now, so both tasks are certainly on the victim.
    await cluster().startWorker(address, 'survivor', ['--slots', '2']);

    victim.kill('SIGKILL');
    // A closed stream is noticed at once, without waiting for the heartbeat timeout.
    const dead = await leader.waitForLine(
      (l) => l.msg === 'member dead' && l['memberId'] === 'victim',
    );
    expect(String(dead['reason'])).toMatch(/stream/);
    const moved = await waitFor(
      async () => {
        const all = await api.tasks();
        return (
          all.every((t) => t.status === TaskStatus.TASK_STATUS_RUNNING && t.attempt === 2) && all
        );
      },
      { timeoutMs: 10_000, what: 'both tasks running elsewhere' },
    );
    expect(moved.map((t) => [t.id, t.attempt, t.memberId])).toEqual([
      ['a', 2, 'survivor'],
      ['b', 2, 'survivor'],
    ]);
    expect((await api.member('victim'))?.status).toBe('dead');
  });

  it('stops the commands of a worker killed with SIGKILL, and starts the task elsewhere only after they ended', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'drover-orphans-')), 'pids');
    const { address, process: leader } = await cluster().startLeader();
    const commands = ['--allow-command', '/bin/sh', '--command-kill-grace-ms', '1000'];
    const victim = await cluster().startWorker(address, 'victim', commands);
    // The command and a child it forked, as a build or a transcode would; deaf to SIGTERM,
    // so only the SIGKILL after the kill grace ends them.
    const script = `trap '' TERM; echo $$ >> ${pidFile}; sleep 60 & echo $! >> ${pidFile}; wait`;
    const api = clients(address);
    await api.schedule({
      id: 'long-command',
      kind: 'command',
      payload: JSON.stringify({ command: '/bin/sh', args: ['-c', script] }),
    });
    const pids = await waitFor(
      () => {
        const lines = readFileSync(pidFile, 'utf8').trim().split('\n');
        return lines.length >= 2 && lines.slice(0, 2).map(Number);
      },
      { timeoutMs: 10_000, what: 'the command and its child to start' },
    );
    expect(pids.every((pid) => !processGone(pid))).toBe(true);
    // Began, as the leader has heard (an attempt it never heard begin is requeued at once).
    await waitFor(async () => (await api.task('long-command')).waiting === '', {
      timeoutMs: 5_000,
      what: 'the leader to hear the attempt begin',
    });
    await cluster().startWorker(address, 'survivor', commands);

    victim.kill('SIGKILL');
    // The leader holds the task from the survivor for the victim's loss fence (its kill
    // grace and a margin), while the victim's reaper stops the group: SIGKILL after 1 s.
    const held = await waitFor(
      async () => {
        const task = await api.task('long-command');
        return task.waiting.startsWith('lost: member victim was lost') && task;
      },
      { timeoutMs: 10_000, what: 'the task to wait out the loss fence' },
    );
    expect(held.status).toBe(TaskStatus.TASK_STATUS_PENDING);
    expect(
      leader.linesWith(
        "task waits out its worker's loss fence (its commands may still be stopping)",
      ),
    ).toMatchObject([{ taskId: 'long-command', memberId: 'victim' }]);
    await waitFor(
      async () => {
        const task = await api.task('long-command');
        return task.memberId === 'survivor' && task.status === TaskStatus.TASK_STATUS_RUNNING;
      },
      { timeoutMs: 10_000, what: 'the task to run on the survivor' },
    );
    // By then the first run and its child had ended.
    expect(pids.map(processGone)).toEqual([true, true]);
  });

  it('a worker whose drain times out ends its commands before it leaves, so the task never runs in two places', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'drover-drain-')), 'pids');
    const { address } = await cluster().startLeader();
    const commands = ['--allow-command', '/bin/sh', '--command-kill-grace-ms', '1000'];
    const victim = await cluster().startWorker(address, 'victim', [
      ...commands,
      ...['--drain-timeout-ms', '300', '--stop-grace-ms', '3000'],
    ]);
    // Deaf to SIGTERM, as a program busy with a write it will not abandon.
    const script = `trap '' TERM; echo $$ >> ${pidFile}; sleep 60 & wait`;
    const api = clients(address);
    await api.schedule({
      id: 'stubborn',
      kind: 'command',
      payload: JSON.stringify({ command: '/bin/sh', args: ['-c', script] }),
    });
    const first = await waitFor(
      () => Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || undefined,
      { timeoutMs: 10_000, what: 'the command to start' },
    );
    await cluster().startWorker(address, 'survivor', commands);
    victim.kill('SIGTERM');
    const moved = await waitFor(
      async () => {
        const task = await api.task('stubborn');
        return task.memberId === 'survivor' && task.status === TaskStatus.TASK_STATUS_RUNNING;
      },
      { timeoutMs: 15_000, what: 'the task to run on the survivor' },
    );
    expect(moved).toBe(true);
    // Its first run had ended (SIGKILL after the kill grace) before the leader moved it.
    expect(processGone(first)).toBe(true);
  });

  it('fails a task whose worker was killed on its last attempt after the dead timeout, with no worker left to take it', async () => {
    // A closed stream is a death at once; the dead timeout (3 s) is then the grace.
    const { address, process: leader } = await cluster().startLeader(['--dead-after-ms', '3000']);
    const victim = await cluster().startWorker(address, 'victim', ['--slots', '1']);
    const api = clients(address);
    await api.schedule({ id: 'once', payload: '60000', maxAttempts: 1 });
    // Begun, as the leader has heard (one lost before that would not count: unbegun-loss.ts).
    await waitFor(
      async () => {
        const t = await api.task('once');
        return t.status === TaskStatus.TASK_STATUS_RUNNING && t.waiting === '';
      },
      { timeoutMs: 5_000, what: 'the leader heard the attempt begin' },
    );
    victim.kill('SIGKILL');
    const dead = await leader.waitForLine(
      (l) => l.msg === 'member dead' && l['memberId'] === 'victim',
    );
    // Waiting for victim to come back, and saying so.
    const waiting = await api.task('once');
    expect(waiting.status).toBe(TaskStatus.TASK_STATUS_PENDING);
    expect(waiting.waiting).toMatch(
      /^lost: fails at \S+ unless member victim re-attaches attempt 1 \(its last\)$/,
    );
    const failed = await waitFor(
      async () => {
        const t = await api.task('once');
        return t.status === TaskStatus.TASK_STATUS_ERROR && t;
      },
      { timeoutMs: 10_000, what: 'the task failed once victim had the dead timeout to return' },
    );
    expect(failed.error).toMatch(
      /^member victim was lost \(.*\) during attempt 1; no attempts left \(max 1\)$/,
    );
    // Not before the grace after the loss was known.
    expect(failed.finishedAt!.getTime()).toBeGreaterThanOrEqual(Number(dead['time']) + 2_900);
    // Its one attempt ended when the leader knew victim was lost, not when the task failed.
    const [lost] = failed.attempts;
    expect(lost).toMatchObject({ attempt: 1, memberId: 'victim', outcome: 'lost' });
    // It was heard to begin (the test waited for that): when, by the leader's clock.
    expect(lost!.beganAt!.getTime()).toBeGreaterThanOrEqual(lost!.startedAt!.getTime());
    expect(lost!.beganAt!.getTime()).toBeLessThanOrEqual(lost!.endedAt!.getTime());
    expect(lost!.endedAt!.getTime()).toBeLessThan(failed.finishedAt!.getTime() - 2_000);
  });

  it('declares a SIGSTOP-frozen worker dead, runs its task elsewhere, and refuses its late report', async () => {
    const { address, process: leader } = await cluster().startLeader();
    const frozen = await cluster().startWorker(address, 'frozen', ['--slots', '1']);
    const api = clients(address);
    // Long enough that attempt 1 is certainly still running when the worker is frozen.
    await api.schedule({ id: 'job', payload: '2000' });
    await frozen.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'job');
    await cluster().startWorker(address, 'healthy', ['--slots', '1']);

    frozen.kill('SIGSTOP');
    // The TCP connection stays open: only missing heartbeats can tell.
    const dead = await leader.waitForLine(
      (l) => l.msg === 'member dead' && l['memberId'] === 'frozen',
    );
    expect(String(dead['reason'])).toMatch(/no heartbeat for \d+ ms/);
    // The attempt log follows commits (saved-tasks.ts): wait for the completion to land too.
    const done = await waitFor(
      async () => {
        const t = await api.task('job');
        const landed = t.attempts.at(-1)?.outcome === 'completed';
        return t.status === TaskStatus.TASK_STATUS_COMPLETED && landed && t;
      },
      { timeoutMs: 10_000, what: 'job completed on the healthy worker, and logged so' },
    );
    expect(done).toMatchObject({ attempt: 2, memberId: 'healthy' });
    // The attempt log says attempt 1 was lost, ending when the leader declared it dead.
    const [lost, second] = done.attempts;
    expect(lost).toMatchObject({ attempt: 1, memberId: 'frozen', outcome: 'lost' });
    expect(lost!.error).toMatch(
      /^member frozen was lost \(no heartbeat for \d+ ms\) during attempt 1$/,
    );
    expect(lost!.endedAt!.getTime()).toBeLessThanOrEqual(second!.startedAt!.getTime());
    expect(second).toMatchObject({ attempt: 2, memberId: 'healthy', outcome: 'completed' });

    // Thawed, the frozen worker finishes attempt 1 and reports it: refused, nothing changes.
    frozen.kill('SIGCONT');
    const refused = await frozen.waitForLine(
      (l) => l.msg === 'report refused' && l['taskId'] === 'job',
    );
    expect(refused).toMatchObject({ attempt: 1, code: 9 /* FAILED_PRECONDITION */ });
    expect(await api.task('job')).toMatchObject({
      status: TaskStatus.TASK_STATUS_COMPLETED,
      attempt: 2,
      memberId: 'healthy',
    });
    // It reconnects and becomes a healthy member again.
    await waitFor(async () => (await api.member('frozen'))?.status === 'alive', {
      timeoutMs: 10_000,
      what: 'frozen rejoined',
    });
  });

  it('re-attaches a task a thawed worker still runs when nobody else took it (no second run)', async () => {
    const { address, process: leader } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'only', ['--slots', '1']);
    const api = clients(address);
    await api.schedule({ id: 'job', payload: '1500' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'job');

    worker.kill('SIGSTOP');
    await leader.waitForLine((l) => l.msg === 'task requeued' && l['taskId'] === 'job');
    expect((await api.task('job')).status).toBe(TaskStatus.TASK_STATUS_PENDING);
    worker.kill('SIGCONT');

    await leader.waitForLine((l) => l.msg === 'task re-attached' && l['taskId'] === 'job');
    const done = await waitFor(
      async () => {
        const t = await api.task('job');
        return t.status === TaskStatus.TASK_STATUS_COMPLETED && t;
      },
      { timeoutMs: 10_000, what: 'job completed' },
    );
    expect(done).toMatchObject({ attempt: 1, memberId: 'only' });
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'job')).toHaveLength(1);
  });

  it('a leader stopped with SIGTERM leaves running tasks running: the next one waits for their worker to re-attach them', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const worker = await cluster().startWorker(first.address, 'w1');
    const api = clients(first.address);
    await api.schedule({ id: 'long', payload: '60000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');
    // Frozen, the worker cannot re-attach: the restarted leader shows what the first saved.
    worker.kill('SIGSTOP');
    first.process.kill('SIGTERM');
    expect((await first.process.exited).code).toBe(0);
    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    const task = await clients(second.address).task('long');
    expect(task).toMatchObject({
      status: TaskStatus.TASK_STATUS_RUNNING,
      memberId: 'w1',
      attempt: 1,
    });
    worker.kill('SIGCONT');
  });

  it('a worker stopped with SIGTERM while its leader is frozen still exits, with code 0', async () => {
    const leader = await cluster().startLeader();
    const worker = await cluster().startWorker(leader.address, 'w1');
    leader.process.kill('SIGSTOP');
    worker.kill('SIGTERM');
    // Its leave call times out (the leader cannot answer) and its socket stays open.
    expect((await worker.exited).code).toBe(0);
    expect(worker.linesWith('worker stopped')).toHaveLength(1);
    leader.process.kill('SIGCONT');
  });

  it('keeps workers reconnecting through a leader restart, then they take new work', async () => {
    const first = await cluster().startLeader();
    const port = first.address.split(':').at(-1)!;
    const worker = await cluster().startWorker(first.address, 'w1', ['--slots', '1']);
    first.process.kill('SIGTERM');
    expect((await first.process.exited).code).toBe(0);
    await worker.waitForLine((l) => l.msg === 'heartbeat stream closed');

    // A new leader on the same address, with a data directory of its own (an empty list).
    const second = await cluster().startLeader(['--listen', `127.0.0.1:${port}`], 'leader-2');
    const api = clients(second.address);
    await waitFor(async () => (await api.member('w1'))?.status === 'alive', {
      timeoutMs: 10_000,
      what: 'w1 rejoined',
    });
    const id = await api.schedule({ payload: '1' });
    await waitFor(async () => (await api.task(id)).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5000,
      what: 'task done after reconnect',
    });
  });
});
