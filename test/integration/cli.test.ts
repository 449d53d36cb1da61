import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { DROVER_BIN, waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

describe('drover CLI', () => {
  const { cluster } = useCluster();

  it('prints its version', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await drover(flag)).toEqual({ stdout: `${version}\n`, stderr: '', code: 0 });
    }
  });

  it('schedules, lists, shows and cancels tasks and lists members', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '1']);
    const L = ['--leader', address];

    const scheduled = await drover('schedule', ...L, '--id', 'long', '--priority', 'high', '60000');
    expect(scheduled).toMatchObject({ code: 0, stdout: 'long\n' });
    const queued = await drover('schedule', ...L, '--kind', 'demo', '--json', '5');
    const queuedId = (JSON.parse(queued.stdout) as { id: string }).id;
    expect(queuedId).toMatch(/^[0-9a-f-]{36}$/);

    await waitFor(
      async () => {
        const { stdout } = await drover('task', ...L, 'long', '--json');
        return (JSON.parse(stdout) as { status: string }).status === 'TASK_STATUS_RUNNING';
      },
      { timeoutMs: 10_000, what: 'long running' },
    );

    const members = await drover('members', ...L);
    expect(members.code).toBe(0);
    const [header, row] = members.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID\s+STATE\s+SLOTS FREE\s+RUNNING\s+LAST HEARTBEAT\s+KINDS\s+ADDRESS\s+WHY$/,
    );
    expect(row).toMatch(/^w1\s+alive\s+0\/1\s+1\s+\d+ms ago\s+default,demo\s+-$/);
    // Connection options may come before the command, as with kubectl or docker.
    const optionsFirst = await drover('--leader', address, '--json', 'members');
    expect(optionsFirst.code).toBe(0);
    expect(JSON.parse(optionsFirst.stdout)).toMatchObject({ members: [{ id: 'w1' }] });

    const tasks = await drover('tasks', ...L);
    const lines = tasks.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+PRIORITY\s+KIND\s+ATTEMPT\s+MEMBER/);
    expect(lines[1]).toMatch(/^long\s+running\s+high\s+default\s+1\s+w1\s/);
    expect(lines[2]).toMatch(new RegExp(`^${queuedId}\\s+pending\\s+medium\\s+demo\\s+0\\s+-\\s`));
    // Columns line up: every row starts its STATUS column where the header does.
    const statusColumn = lines[0]!.indexOf('STATUS');
    expect(
      lines.slice(1).every((l) => /\S/.test(l[statusColumn]!) && l[statusColumn - 1] === ' '),
    ).toBe(true);

    const pendingOnly = await drover('tasks', ...L, '--status', 'pending', '--json');
    expect(
      (JSON.parse(pendingOnly.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id),
    ).toEqual([queuedId]);
    // 'failed' is read as error (none here), and a listing cut by --limit says how to see
    // the latest, since it starts from the oldest.
    const failed = await drover('tasks', ...L, '--status', 'failed');
    expect(failed).toMatchObject({ code: 0, stdout: 'no tasks\n' });
    const cut = await drover('tasks', ...L, '--limit', '1');
    expect(cut.stdout).toMatch(/\n\(more: --page-token \S+; --newest-first for the latest\)\n$/);

    expect(await drover('cancel', ...L, 'long')).toMatchObject({
      code: 0,
      stdout: 'cancelled long (stop sent to w1)\n',
    });
    // Again: already cancelled, so no stop goes out and none is claimed; still exit 0.
    const again = await drover('cancel', ...L, 'long');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^long was already cancelled at \d{4}-\S+Z; nothing changed\n$/);
    const shown = await drover('task', ...L, 'long');
    expect(shown.stdout).toMatch(/^status\s+cancelled$/m);
  });

  it('exits non-zero with a clear message for unknown ids, bad input, and a leader that is down', async () => {
    const { address } = await cluster().startLeader();
    const L = ['--leader', address];
    expect(await drover('task', ...L, 'missing')).toMatchObject({
      code: 1,
      stderr: 'drover: task missing not found (NOT_FOUND)\n',
    });
    expect(await drover('schedule', ...L, '')).toMatchObject({
      code: 2,
      stderr: 'drover: the payload (the PAYLOAD argument) is empty: a task needs one\n',
    });
    const usage = await drover('schedule', ...L, '--priority', 'urgent', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Allowed choices are low, medium, high/);

    // Nothing listens on port 1.
    const down = await drover('members', '--leader', '127.0.0.1:1', '--timeout-ms', '1000');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^drover: cannot reach the leader at 127\.0\.0\.1:1/);
  });

  it('waits for a task to end with --wait: its result, a failure, a cancel, a timeout', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    // A leader that is down listed first: the schedule and the wait both move past it.
    const L = ['--leader', `127.0.0.1:1,${address}`];

    const done = await drover('schedule', ...L, '--wait', '--id', 'ok', '20');
    expect(done).toMatchObject({ code: 0, stdout: 'ok\nworked 20 ms\n' });
    const shown = await drover('task', ...L, 'ok', '--wait', '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ status: 'TASK_STATUS_COMPLETED' });

    const failed = await drover(
      'schedule',
      ...L,
      '--wait',
      '--max-attempts',
      '1',
      '--attempt-timeout-ms',
      '100',
      '60000',
    );
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/failed on attempt 1: attempt 1 timed out after 100 ms\n$/);

    // No worker runs kind `none`: the task waits, and so does the command.
    const cancelled = drover('schedule', ...L, '--wait', '--kind', 'none', '--id', 'c', '1');
    await waitFor(async () => (await drover('task', ...L, 'c')).code === 0, {
      timeoutMs: 10_000,
      what: 'task c scheduled',
    });
    expect((await drover('cancel', ...L, 'c')).code).toBe(0);
    expect(await cancelled).toMatchObject({
      code: 4,
      stdout: 'c\n',
      stderr: 'drover: task c was cancelled\n',
    });

    const late = await drover('schedule', ...L, '--wait-timeout', '300ms', '--kind', 'none', '1');
    expect(late.code).toBe(5);
    expect(late.stderr).toMatch(/has not ended within --wait-timeout; it goes on\n$/);
    expect(await drover('task', ...L, 'nope', '--wait')).toMatchObject({
      code: 1,
      stderr: 'drover: task nope not found\n',
    });
  });
  it('--wait says when it lost the leader, and goes on waiting on the restarted one', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const L = ['--leader', first.address];
    // No worker runs kind `none`: the task waits for the cancel below.
    const waiting = drover('schedule', ...L, '--wait', '--kind', 'none', '--id', 'w', '1');
    await waitFor(async () => (await drover('task', ...L, 'w')).code === 0, {
      timeoutMs: 10_000,
      what: 'task w scheduled',
    });
    first.process.kill('SIGKILL');
    await first.process.exited;
    const second = cluster().spawn('leader-2', [
      'leader',
      '--listen',
      first.address,
      '--no-http',
      '--data-dir',
      dataDir,
    ]);
    await second.waitForLine((l) => l.msg === 'leader listening');
    await waitFor(async () => (await drover('cancel', ...L, 'w')).code === 0, {
      timeoutMs: 10_000,
      what: 'the cancel on the restarted leader',
    });
    const ended = await waiting;
    expect(ended.code).toBe(4);
    expect(ended.stderr).toMatch(
      new RegExp(
        `^drover: lost the leader at ${first.address} \\(.*\\); waiting for task w on it or another, up to 30 s without one\\n(.*\\n)*drover: task w was cancelled\\n$`,
      ),
    );
  });
});

describe('drover dev', () => {
  const { cluster } = useCluster();

  /** Pids of a process's children (bounded: one pgrep). */
  const childrenOf = (pid: number): number[] => {
    const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout;
    return out.split('\n').filter(Boolean).map(Number);
  };
  /** Running: not gone and not a zombie (orphans may wait here for a PID 1 that never reaps). */
  const alive = (pid: number): boolean => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('talks to its own leader, and its cluster stops when it is killed (SIGKILL)', async () => {
    const dataDir = cluster().dataDir();
    const dev = cluster().spawnScript(
      'dev',
      DROVER_BIN,
      // Its own flags for the leader's ports and directory (the HTTP port by its env too).
      [
        'dev',
        '--workers',
        '1',
        '--demo-tasks',
        '0',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
      ],
      ['env', 'DROVER_HTTP_LISTEN=127.0.0.1:0'],
    );
    // Its banner names the leader it started (an ephemeral port), not the default one.
    const banner = await waitFor(
      () => dev.raw.find((line) => line.includes('drover dev: leader on')) ?? false,
      { timeoutMs: 20_000, what: 'the dev banner' },
    );
    expect(banner).toMatch(
      /leader on 127\.0\.0\.1:(?!50051)\d+ \(HTTP 127\.0\.0\.1:(?!8080)\d+\), 1 worker\. /,
    );
    const children = await waitFor(
      () => {
        const pids = childrenOf(dev.pid);
        return pids.length === 2 && pids;
      },
      { timeoutMs: 10_000, what: 'a leader and a worker' },
    );
    dev.kill('SIGKILL');
    await waitFor(() => children.every((pid) => !alive(pid)), {
      timeoutMs: 20_000,
      what: 'the leader and worker of a killed drover dev to stop',
    });
  });
});
