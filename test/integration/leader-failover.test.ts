import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/client/producer.js';
import { drover } from '../helpers/cli-run.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { dropTestSchemas, postgresStoreArgs } from '../helpers/pg-schema.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Leaders in a group on the real PostgreSQL, as real processes: the active one is frozen
// (SIGSTOP), a standby takes over, the worker follows with its running task (no second run),
// and the frozen one, woken, has stepped down and names the new leader.

afterAll(dropTestSchemas);

/** A leader group's flags: every leader on one PostgreSQL schema of this test's own. */
function pgGroup(...extra: string[]): string[] {
  return [...postgresStoreArgs(), ...extra];
}

describe('leader failover on PostgreSQL', () => {
  const { cluster, clients } = useCluster();

  /** Two leaders of `group`: the first active, the second standing by. */
  async function startPair(group: string[]) {
    const first = await cluster().startLeader(group, 'leader-1');
    await first.process.waitForLine((l) => l.msg === 'leader active: took over');
    const second = await cluster().startLeader(group, 'leader-2');
    await second.process.waitForLine((l) => l.msg === 'standing by for the lease');
    return { first, second };
  }

  /** How a leader refuses a call it cannot serve: the code, and the leader it names. */
  async function refusal(address: string) {
    const err = (await clients(address)
      .task('none')
      .catch((e: unknown) => e)) as ServiceError;
    return { code: err.code, leader: err.metadata?.get('drover-leader')[0] };
  }

  it('a standby takes over from a frozen leader; the worker follows; nothing runs twice', async () => {
    const { first, second } = await startPair(
      pgGroup(
        '--lease-renew-ms',
        '200',
        '--lease-ms',
        '1000',
        // The worker must re-attach its running task within this (it follows in ~1 s).
        '--reattach-grace-ms',
        '4000',
      ),
    );

    // The standby refuses, naming the active leader (once its first round has read the lease).
    const named = await waitFor(
      async () => {
        const seen = await refusal(second.address);
        return seen.leader !== undefined && seen;
      },
      { timeoutMs: 5_000, what: 'the standby naming the active leader' },
    );
    expect(named).toEqual({ code: status.UNAVAILABLE, leader: first.address });

    const worker = await cluster().startWorker(`${first.address},${second.address}`, 'w1', [
      '--slots',
      '2',
    ]);
    await clients(first.address).schedule({ id: 'long', payload: '2500' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    first.process.kill('SIGSTOP');
    await second.process.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    const api = clients(second.address);
    expect(await api.task('long')).toMatchObject({ status: TaskStatus.TASK_STATUS_RUNNING });
    await api.schedule({ id: 'after', payload: '1' });

    const done = await waitFor(
      async () => {
        const [long, after] = [await api.task('long'), await api.task('after')];
        const finished = [long, after].every((t) => t.status === TaskStatus.TASK_STATUS_COMPLETED);
        return finished && { long, after };
      },
      { timeoutMs: 20_000, what: 'both tasks completed on the new leader' },
    );
    expect(done.long).toMatchObject({ attempt: 1, memberId: 'w1', result: 'worked 2500 ms' });
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'long')).toHaveLength(1);

    // Woken, the old leader finds its term over: it steps down and sends callers on.
    const beforeWaking = first.process.lines.length;
    first.process.kill('SIGCONT');
    await first.process.waitForLine((l) => l.msg === 'leader stepped down; standing by');
    // It acts on nothing of its over term first: its overdue timers found the worker
    // silent for the whole freeze, but it neither declares it dead nor requeues its task.
    const woken = first.process.lines.slice(beforeWaking).map((l) => l.msg);
    expect(woken).not.toContain('member dead');
    expect(woken).not.toContain('task requeued');
    const sentOn = await waitFor(
      async () => {
        const seen = await refusal(first.address);
        return seen.leader === second.address && seen;
      },
      { timeoutMs: 10_000, what: 'the old leader naming the new one' },
    );
    expect(sentOn).toEqual({ code: status.UNAVAILABLE, leader: second.address });
  }, 60_000);

  it('the SDK producer given a standby first is refused with UNAVAILABLE, then follows the leader it named', async () => {
    const { first: active, second: standby } = await startPair(pgGroup());
    // Until its first round has read the lease, a standby refuses without naming anyone.
    await waitFor(
      async () => (await refusal(standby.address)).leader === active.address || undefined,
      { timeoutMs: 5_000, what: 'the standby naming the active leader' },
    );
    const producer = createProducer({ leader: [standby.address] });
    try {
      const refused = await producer.schedule({ id: 'p1', payload: '1' }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'ScheduleError', code: status.UNAVAILABLE });
      // The refusal named the active leader: the retry with the same id goes there.
      expect(await producer.schedule({ id: 'p1', payload: '1' })).toBe('p1');
      expect(
        await Promise.all([
          producer.schedule({ id: 'p2', payload: '1' }),
          producer.schedule({ id: 'p3', payload: '1' }),
        ]),
      ).toEqual(['p2', 'p3']);
      expect((await clients(active.address).tasks()).map((t) => t.id)).toEqual(['p1', 'p2', 'p3']);
    } finally {
      await producer.close();
    }
  }, 60_000);

  it("watches follow the active leader: drover logs and watch through a standby, and a producer's result() across a SIGKILL", async () => {
    const { first: active, second: standby } = await startPair(pgGroup());
    await waitFor(
      async () => (await refusal(standby.address)).leader === active.address || undefined,
      { timeoutMs: 5_000, what: 'the standby naming the active leader' },
    );
    const both = `${active.address},${standby.address}`;
    const worker = await cluster().startWorker(both, 'w1', ['--slots', '2']);
    await clients(active.address).schedule({ id: 'long', payload: '2000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    // A standby refuses a watch with UNAVAILABLE naming the active leader (it was UNKNOWN,
    // naming no one), so the CLI moves there before its first event.
    const refused = await new Promise<ServiceError>((resolve) => {
      const watch = clients(standby.address).scheduler.watchTasks({
        status: TaskStatus.TASK_STATUS_UNSPECIFIED,
        memberId: '',
        includeControls: false,
        kind: '',
        id: 'long',
        untilEnded: false,
      });
      watch.on('data', () => {});
      watch.on('error', resolve);
    });
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(refused.metadata.get('drover-leader')[0]).toBe(active.address);
    const standbyFirst = `${standby.address},${active.address}`;
    expect(await drover('logs', '--leader', standbyFirst, 'long')).toMatchObject({ code: 0 });

    // The producer is given the standby first too; its wait survives the active leader's
    // SIGKILL: the watch moves to the leader that took over, where the task completes.
    const producer = createProducer({ leader: [standby.address, active.address] });
    try {
      const waiting = producer.result('long');
      active.process.kill('SIGKILL');
      expect(await waiting).toBe('worked 2000 ms');
      expect((await clients(standby.address).task('long')).attempt).toBe(1);
    } finally {
      await producer.close();
    }
  }, 60_000);

  it('the SDK producer and the CLI give up on a frozen leader and reach the one that took over', async () => {
    const { first: frozen, second: next } = await startPair(
      pgGroup('--lease-renew-ms', '200', '--lease-ms', '1000'),
    );
    const both = [frozen.address, next.address];
    const producer = createProducer({ leader: both, answerTimeoutMs: 1_500 });
    try {
      expect(await producer.schedule({ id: 'before', payload: '1' })).toBe('before');
      frozen.process.kill('SIGSTOP');
      // The frozen leader's connection stays open (the kernel answers for it): only the
      // answer timeout ends the wait.
      const refused = await producer.schedule({ id: 'during', payload: '1' }).catch((e) => e);
      expect(refused).toMatchObject({ name: 'ScheduleError', code: status.UNAVAILABLE });
      expect(String(refused.message)).toBe(
        `the leader at ${frozen.address} did not answer within 1500 ms (frozen, overloaded or cut off?)`,
      );
      await next.process.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
      // The retry with the same id goes to the next leader, now active.
      expect(await producer.schedule({ id: 'during', payload: '1' })).toBe('during');

      // The CLI, given the frozen leader first, moves on once its timeout passes.
      const listed = await drover('tasks', '--leader', both.join(','), '--timeout-ms', '1000');
      expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
      expect(listed.stdout).toMatch(/^before\s/m);
      expect(listed.stdout).toMatch(/^during\s/m);
    } finally {
      frozen.process.kill('SIGCONT');
      await producer.close();
    }
  }, 60_000);

  it('gRPC health (strict Python client): SERVING on the active leader only, and it moves with a takeover', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { first, second } = await startPair(
      pgGroup('--lease-renew-ms', '200', '--lease-ms', '1000'),
    );
    const health = async (address: string, service = '') =>
      (
        (await pyJson([
          '-d',
          JSON.stringify({ service }),
          address,
          'grpc.health.v1.Health/Check',
        ])) as {
          status: string;
        }
      ).status;
    expect(await health(first.address)).toBe('SERVING');
    expect(await health(first.address, 'scheduler.v1.SchedulerService')).toBe('SERVING');
    // A load balancer probing gRPC health must not send callers to a standby.
    expect(await health(second.address)).toBe('NOT_SERVING');
    expect(await health(second.address, 'scheduler.v1.SchedulerService')).toBe('NOT_SERVING');
    // /readyz agrees, and names the active leader as the standby's refusals do.
    const readyz = await fetch(`${second.http}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.headers.get('drover-role')).toBe('standby');
    expect(readyz.headers.get('retry-after')).toBe('1');
    expect(readyz.headers.get('drover-leader')).toBe(first.address);
    expect(readyz.headers.get('drover-leader-http')).toBe(new URL(first.http).host);
    expect(await readyz.json()).toEqual({
      status: 'standby',
      message: expect.stringMatching(
        `^this leader is a standby; the active leader is ${first.address}`,
      ),
    });
    expect((await fetch(`${first.http}/readyz`)).status).toBe(200);

    first.process.kill('SIGKILL');
    await second.process.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    await waitFor(async () => (await health(second.address)) === 'SERVING' || undefined, {
      timeoutMs: 5_000,
      what: 'the new active leader SERVING',
    });
    expect(await health(second.address, 'cluster.v1.LeaderService')).toBe('SERVING');
  }, 60_000);

  it('SIGKILL of the active leader under load: the standby takes over at once; nothing acknowledged is lost or run twice; FIFO holds', async () => {
    // Default lease timing: renew 1 s, lease 5 s.
    const { first, second } = await startPair(pgGroup());
    const both = `${first.address},${second.address}`;
    const workers = [
      await cluster().startWorker(both, 'w1', ['--slots', '3']),
      await cluster().startWorker(both, 'w2', ['--slots', '3']),
    ];

    // One producer, one call at a time, following refusals: acknowledgement order is FIFO.
    const acknowledged: string[] = [];
    let target = first.address;
    let producing = true;
    let next = 0;
    const producer = (async () => {
      // Bounded: at most 400 calls, and only while the test produces.
      while (producing && next < 400) {
        const id = `c${next++}`;
        try {
          await clients(target).schedule({ id, payload: '30' });
          acknowledged.push(id);
        } catch (err) {
          const hint = (err as ServiceError).metadata?.get('drover-leader')[0];
          target =
            typeof hint === 'string'
              ? hint
              : target === first.address
                ? second.address
                : first.address;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();

    await waitFor(() => acknowledged.length >= 40 || undefined, {
      timeoutMs: 20_000,
      what: '40 tasks acknowledged by the first leader',
    });
    const killedAt = Date.now();
    first.process.kill('SIGKILL');
    const tookOver = await second.process.waitForLine(
      (l) => l.msg === 'leader active: took over',
      10_000,
    );
    const failoverMs = Number(tookOver['time']) - killedAt;
    const before = acknowledged.length;
    await waitFor(() => acknowledged.length >= before + 40 || undefined, {
      timeoutMs: 20_000,
      what: '40 more tasks acknowledged by the new leader',
    });
    producing = false;
    await producer;

    const api = clients(second.address);
    const all = await api.whenAllFinished('every task finished on the new leader', 30_000);
    // Taken over well inside the lease: the killed leader's session vanished at once.
    expect(failoverMs).toBeLessThan(5_000);
    const byId = new Map(all.map((t) => [t.id, t]));
    for (const id of acknowledged) {
      expect(byId.get(id)?.status, id).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    }
    const listed = all.map((t) => t.id).filter((id) => acknowledged.includes(id));
    expect(listed).toEqual(acknowledged);
    // No attempt ran twice: each start a worker logged is its own attempt of its task.
    const starts = workers.flatMap((w) =>
      w.linesWith('task started').map((l) => `${String(l['taskId'])}#${String(l['attempt'])}`),
    );
    expect(new Set(starts).size).toBe(starts.length);
    for (const task of all) {
      const runs = starts.filter((s) => s.startsWith(`${task.id}#`)).length;
      expect(runs, task.id).toBeLessThanOrEqual(task.attempt);
    }
  }, 90_000);
});
