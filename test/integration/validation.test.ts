import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { taskDraft } from '../../src/client/task-draft.js';
import { grpcError, TaskStatus } from '../helpers/grpc-clients.js';
import type { TaskPriority } from '../../src/gen/scheduler/v1/scheduler.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

describe('bad input gets a clear status and changes nothing', () => {
  const { cluster, clients } = useCluster();

  it('refuses duplicate ids, empty and oversized payloads, unknown ids', async () => {
    const { address } = await cluster().startLeader(['--max-payload-bytes', '1024']);
    const api = clients(address);
    await api.schedule({ id: 'dup', payload: 'first' });
    const before = await api.tasks();

    const duplicate = await grpcError(api.schedule({ id: 'dup', payload: 'second' }));
    expect(duplicate.code).toBe(status.ALREADY_EXISTS);
    expect(duplicate.details).toBe('task dup already exists');

    const empty = await grpcError(api.schedule({ id: 'empty', payload: '' }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toBe('task payload must not be empty');

    // 1025 bytes in UTF-8 though only 513 characters: the limit is in bytes.
    const big = await grpcError(api.schedule({ id: 'big', payload: 'é'.repeat(512) + 'x' }));
    expect(big.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.details).toBe('task payload is 1025 bytes; the limit is 1024');

    // Over the transport's own limit (at least 4 MiB, so workers' results always fit),
    // gRPC refuses the message before it is decoded; under it, the scheduler does.
    const over = await grpcError(api.schedule({ id: 'over', payload: 'x'.repeat(200 * 1024) }));
    expect(over.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(over.details).toBe('task payload is 204800 bytes; the limit is 1024');
    const huge = await grpcError(
      api.schedule({ id: 'huge', payload: 'x'.repeat(5 * 1024 * 1024) }),
    );
    expect(huge.code).toBe(status.RESOURCE_EXHAUSTED);

    const badKind = await grpcError(
      api.schedule({ id: 'k', payload: 'x', kind: 'no spaces allowed' }),
    );
    expect(badKind.code).toBe(status.INVALID_ARGUMENT);

    const badPriority = await grpcError(
      api.schedule({ id: 'p', payload: 'x', priority: 42 as TaskPriority }),
    );
    expect(badPriority.code).toBe(status.INVALID_ARGUMENT);

    for (const call of [api.task('nope'), api.cancel('nope'), api.complete('nope', 1, 'w')]) {
      const err = await grpcError(call);
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details).toBe('task nope not found');
    }
    expect((await grpcError(api.task(''))).code).toBe(status.INVALID_ARGUMENT);

    const leave = await grpcError(
      api.call(api.leader, api.leader.leave, { id: 'ghost', session: '' }),
    );
    expect(leave.code).toBe(status.NOT_FOUND);

    // Nothing above changed the task list.
    expect(await api.tasks()).toEqual(before);
  });

  it('ScheduleTasks takes a batch in order, all or nothing', async () => {
    const { address } = await cluster().startLeader();
    const api = clients(address);
    const task = (id: string, payload: string) => taskDraft({ id, payload });
    const batch = (tasks: ReturnType<typeof task>[]) =>
      api.call(api.scheduler, api.scheduler.scheduleTasks, { tasks });

    const ok = await batch([task('a', '1'), task('', '2'), task('c', '3')]);
    expect(ok.ids).toHaveLength(3);
    expect(ok.ids[0]).toBe('a');
    expect(ok.ids[2]).toBe('c');
    const before = await api.tasks();
    expect(before.map((t) => t.id)).toEqual(ok.ids);

    const invalid = await grpcError(batch([task('d', '1'), task('e', '')]));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toBe('tasks[1]: task payload must not be empty');
    const dupInBatch = await grpcError(batch([task('f', '1'), task('f', '2')]));
    expect(dupInBatch.code).toBe(status.ALREADY_EXISTS);
    expect(dupInBatch.details).toBe('tasks[1]: task f is tasks[0] too');
    const dupExisting = await grpcError(batch([task('g', '1'), task('a', '2')]));
    expect(dupExisting.code).toBe(status.ALREADY_EXISTS);
    expect((await grpcError(batch([]))).code).toBe(status.INVALID_ARGUMENT);
    // None of the refused batches left anything behind.
    expect(await api.tasks()).toEqual(before);
  });

  it('refuses a completion for an attempt that is not current, and a second cancel of a finished task', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1');
    const api = clients(address);
    await api.schedule({ id: 't', payload: '60000' });
    const running = await waitFor(
      async () => {
        const t = await api.task('t');
        // Begun (its worker said so): the view no longer says it waits on the worker.
        return t.status === TaskStatus.TASK_STATUS_RUNNING && t.waiting === '' && t;
      },
      { timeoutMs: 5000, what: 'running, begun' },
    );

    const stale = await grpcError(api.complete('t', 7, 'w1', 'bogus'));
    expect(stale.code).toBe(status.FAILED_PRECONDITION);
    expect(stale.details).toBe('attempt 7 of task t is no longer current (current attempt: 1)');
    const wrongMember = await grpcError(api.complete('t', 1, 'someone-else'));
    expect(wrongMember.code).toBe(status.FAILED_PRECONDITION);
    expect(await api.task('t')).toEqual(running);
    // A result no client could read back (over 1 Mi characters) is refused, not kept.
    const huge = await grpcError(
      api.call(api.scheduler, api.scheduler.taskComplete, {
        id: 't',
        attempt: 0,
        memberId: '',
        permanent: false,
        result: 'z'.repeat(1024 * 1024 + 4097),
      }),
    );
    expect(huge.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(huge.details).toBe('result is 1052673 characters; the most is 1052672');
    expect(await api.task('t')).toEqual(running);

    // A manual completion (as with go-work's grpcurl TaskComplete) of the current attempt.
    const done = await api.call(api.scheduler, api.scheduler.taskComplete, {
      id: 't',
      attempt: 0,
      memberId: '',
      permanent: false,
    });
    expect(done.task?.status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    const cancelDone = await grpcError(api.cancel('t'));
    expect(cancelDone.code).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses a second worker process using a live member id', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'same');
    const api = clients(address);
    // Joined is not yet alive: wait for its first heartbeat so the check below means something.
    await waitFor(async () => (await api.member('same'))?.status === 'alive', {
      timeoutMs: 5000,
      what: 'same alive',
    });
    const clash = await grpcError(
      api.call(api.leader, api.leader.join, {
        id: 'same',
        address: '',
        slots: 1,
        kinds: [],
        allowedCommands: [],
        timedStarts: false,
        beganNotices: false,
        lossFenceMs: 0,
        resumed: false,
        instance: 'other',
      }),
    );
    expect(clash.code).toBe(status.ALREADY_EXISTS);
    expect((await api.member('same'))?.status).toBe('alive');
  });

  it('refuses to serve plaintext on a non-loopback address unless told to', async () => {
    const leader = cluster().spawn('leader', ['leader', '--listen', '0.0.0.0:0']);
    const { code } = await leader.exited;
    expect(code).toBe(2);
    expect(leader.raw.join('\n')).toMatch(/refusing to serve plaintext on 0\.0\.0\.0:0/);
  });
});
