import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  createProducer,
  ScheduleError,
  TaskFailedError,
  TaskPriority,
  TaskWaitError,
} from '../../src/client/producer.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

describe('SDK producer over ScheduleTaskStream', () => {
  const { cluster, clients } = useCluster();

  it('schedules many tasks one by one on one stream, each saved and run once', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '4']);
    const api = clients(address);
    const producer = createProducer({ leader: address });
    try {
      const ids = await Promise.all(
        Array.from({ length: 300 }, (_, i) => producer.schedule({ id: `s${i}`, payload: '1' })),
      );
      expect(ids).toEqual(Array.from({ length: 300 }, (_, i) => `s${i}`));
      // A leader-made id when none is given, and the other fields carried through.
      const made = await producer.schedule({
        payload: '1',
        kind: 'default',
        priority: TaskPriority.TASK_PRIORITY_HIGH,
        maxAttempts: 5,
        retryBackoffMs: 0,
        timeoutMs: 60_000,
      });
      expect(made).toMatch(/^[0-9a-f-]{36}$/);
      expect(await api.task(made)).toMatchObject({
        priority: TaskPriority.TASK_PRIORITY_HIGH,
        maxAttempts: 5,
        retryBackoffMs: 0,
        timeoutMs: 60_000,
      });
      await waitFor(
        async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 301 || undefined,
        { timeoutMs: 20_000, what: '301 tasks completed' },
      );
      // Each ran once: one attempt that completed, and any other one only a hand-back of a
      // task its worker held unstarted (worker priority makes room for the HIGH one).
      const all = await api.tasks();
      const runs = all
        .map((t) => ({ id: t.id, outcomes: t.attempts.map((a) => a.outcome) }))
        .filter(
          ({ outcomes }) => outcomes.filter((o) => o !== 'not started').join() !== 'completed',
        );
      expect(runs).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('result() waits for a task to end: its result, its failure, a cancel, no such task, an abort', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '4', '--allow-command', 'false']);
    const api = clients(address);
    const producer = createProducer({ leader: address });
    try {
      // Scheduled, then waited for while it runs (500 ms of work).
      const id = await producer.schedule({ id: 'r1', payload: '500' });
      expect(await producer.result(id)).toBe('worked 500 ms');
      // Ended already: the watch's snapshot says so at once.
      expect(await producer.result('r1')).toBe('worked 500 ms');

      await producer.schedule({ id: 'r2', payload: 'false', kind: 'command', maxAttempts: 1 });
      const failed = await producer.result('r2').catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(TaskFailedError);
      expect(failed).toMatchObject({ status: 'error', task: { id: 'r2', attempt: 1 } });
      expect((failed as Error).message).toMatch(/^task r2 failed after 1 attempt\(s\): /);

      await producer.schedule({ id: 'r3', payload: '60000' });
      const cancelled = producer.result('r3').catch((e: unknown) => e);
      await api.call(api.scheduler, api.scheduler.cancelTask, { id: 'r3' });
      expect(await cancelled).toMatchObject({ name: 'TaskFailedError', status: 'cancelled' });

      const missing = await producer.result('no-such').catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(TaskWaitError);
      expect(missing).toMatchObject({ code: status.NOT_FOUND, message: 'task no-such not found' });

      await producer.schedule({ id: 'r4', payload: '60000' });
      const controller = new AbortController();
      const aborted = producer.result('r4', { signal: controller.signal }).catch((e: unknown) => e);
      controller.abort(new Error('gave up'));
      expect(await aborted).toMatchObject({ message: 'gave up' });
    } finally {
      await producer.close();
    }
  });

  it('result() in back-to-back batches under the watch limit is never refused', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w1', ['--slots', '8']);
    const producer = createProducer({ leader: address });
    try {
      const ids = await Promise.all(
        Array.from({ length: 200 }, (_, i) => producer.schedule({ id: `b-${i}`, payload: '0' })),
      );
      // Each batch of 50 starts as the one before settles: a watch of one ended task is
      // freed by the leader as it ends, not when the client's cancel lands (64 per client).
      const refused: unknown[] = [];
      for (let from = 0; from < ids.length; from += 50) {
        const batch = ids.slice(from, from + 50).map((id) => producer.result(id));
        for (const outcome of await Promise.allSettled(batch)) {
          if (outcome.status === 'rejected') refused.push(outcome.reason);
        }
      }
      expect(refused).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('result() with no leader to reach gives up after unservedMs, saying what to check', async () => {
    const producer = createProducer({ leader: '127.0.0.1:1' });
    try {
      const waited = await producer.result('x', { unservedMs: 300 }).catch((e: unknown) => e);
      expect(waited).toBeInstanceOf(TaskWaitError);
      expect((waited as Error).message).toMatch(
        /^no leader served the wait for task x for 300 ms; last at 127\.0\.0\.1:1: No connection established\. Last error: connect ECONNREFUSED 127\.0\.0\.1:1 \(is it running\? check createProducer's leader\)$/,
      );
    } finally {
      await producer.close();
    }
  });

  it('cancel() stops a pending or running task, says when it was cancelled before, and follows the leader list', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '1']);
    const scheduler = createProducer({ leader: address });
    await scheduler.schedule({ id: 'runs', payload: '60000' });
    await scheduler.schedule({ id: 'waits', payload: '1', kind: 'nobody' });
    await scheduler.close();
    // A leader that is down listed first: the cancel moves past it.
    const producer = createProducer({ leader: ['127.0.0.1:1', address] });
    try {
      await waitFor(
        async () => (await clients(address).task('runs')).status === TaskStatus.TASK_STATUS_RUNNING,
        { timeoutMs: 10_000, what: 'runs running' },
      );
      const running = await producer.cancel('runs');
      expect(running).toMatchObject({ stopSent: true, alreadyCancelled: false });
      expect(running.task.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
      await expect(producer.result('runs')).rejects.toMatchObject({ status: 'cancelled' });
      expect(await producer.cancel('waits')).toMatchObject({
        stopSent: false,
        alreadyCancelled: false,
      });
      expect(await producer.cancel('waits')).toMatchObject({ alreadyCancelled: true });
      await expect(producer.cancel('nope')).rejects.toMatchObject({
        name: 'ScheduleError',
        code: status.NOT_FOUND,
      });
      // A task that completed cannot be cancelled.
      await clients(address).schedule({ id: 'done', payload: '1' });
      await producer.result('done');
      await expect(producer.cancel('done')).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
      });
    } finally {
      await producer.close();
    }
    await expect(producer.cancel('waits')).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: 'the producer is closed',
    });
  });

  it('answers a bad task with its status code and goes on with the next', async () => {
    const { address } = await cluster().startLeader();
    const api = clients(address);
    const producer = createProducer({ leader: address });
    try {
      await expect(producer.schedule({ id: 'dup', payload: 'x' })).resolves.toBe('dup');
      const refusals = await Promise.allSettled([
        producer.schedule({ id: 'dup', payload: 'x' }),
        producer.schedule({ id: 'empty', payload: '' }),
        producer.schedule({ id: 'bad kind', payload: 'x' }),
      ]);
      const codes = refusals.map((r) =>
        r.status === 'rejected'
          ? [(r.reason as ScheduleError).code, (r.reason as Error).message]
          : r,
      );
      expect(codes).toEqual([
        [status.ALREADY_EXISTS, 'task dup already exists'],
        [status.INVALID_ARGUMENT, 'task payload must not be empty'],
        [
          status.INVALID_ARGUMENT,
          'task id "bad kind" must not contain whitespace or control characters',
        ],
      ]);
      // Values protobuf cannot encode are refused one task at a time too (they used to fail
      // the whole message, and every task sent with it, as INTERNAL).
      const mixed = await Promise.allSettled([
        producer.schedule({ id: 'good-1', payload: 'x' }),
        producer.schedule({ id: 'bad', payload: 'x', delayMs: -1 }),
        producer.schedule({ id: 'bad-date', payload: 'x', runAt: '2027-01-01' as unknown as Date }),
        producer.schedule({ id: 'good-2', payload: 'x' }),
      ]);
      expect(
        mixed.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      ).toEqual([
        'good-1',
        'delayMs must be a whole number from 0 to 9007199254740991, got -1',
        'runAt must be a valid Date, got "2027-01-01"',
        'good-2',
      ]);
      expect((mixed[1] as PromiseRejectedResult).reason).toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
      // The stream survived the refusals, and nothing was half-made by them.
      await expect(producer.schedule({ id: 'after', payload: 'x' })).resolves.toBe('after');
      expect((await api.tasks()).map((t) => t.id)).toEqual(['dup', 'good-1', 'good-2', 'after']);
    } finally {
      await producer.close();
    }
  });

  it("says what to check when the address is the leader's HTTP port", async () => {
    const { http } = await cluster().startLeader();
    const producer = createProducer({ leader: new URL(http).host, answerTimeoutMs: 5_000 });
    try {
      const refused = await producer.schedule({ id: 'x', payload: 'x' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ScheduleError);
      expect((refused as ScheduleError).message).toMatch(
        /Protocol error.*\(is that the leader's gRPC port, not its HTTP one\? check createProducer's leader\)/,
      );
    } finally {
      await producer.close();
    }
  });

  it('fails calls in flight with UNAVAILABLE when the leader goes, and refuses after close', async () => {
    const { address, process: leader } = await cluster().startLeader();
    const producer = createProducer({ leader: address });
    await producer.schedule({ payload: 'x' });
    leader.kill('SIGKILL');
    await leader.exited;
    const lost = await producer.schedule({ payload: 'x' }).then(
      () => undefined,
      (err: ScheduleError) => err,
    );
    expect(lost).toBeInstanceOf(ScheduleError);
    expect(lost!.code).toBe(status.UNAVAILABLE);
    await producer.close();
    await expect(producer.schedule({ payload: 'x' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
  });
});
