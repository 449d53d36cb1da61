import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// Re-running failed tasks (dead letters, issue #18) on real processes. Failing work is real:
// the allow-listed `false` command exits with code 1.

interface WireTask {
  id: string;
  status: string;
  attempt?: number;
  attemptBase?: number;
  error?: string;
}

describe('re-running failed tasks', () => {
  const { cluster } = useCluster();

  /** A leader and a worker, and `count` tasks (f1, f2, ...) failed on their only attempt. */
  async function failedCluster(count: number) {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w', ['--allow-command', 'false', '--slots', '4']);
    const ids = Array.from({ length: count }, (_, i) => `f${i + 1}`);
    for (const id of ids) {
      const made = await drover(
        ...['schedule', '--leader', address, '--id', id, '--kind', 'command'],
        ...['--max-attempts', '1', 'false'],
      );
      expect(made.code).toBe(0);
    }
    const get = async (id: string) =>
      (await (await fetch(`${http}/v1/tasks/${id}`)).json()) as WireTask;
    /** Waits until task `id` has failed at attempt `attempt`. */
    const failedAt = (id: string, attempt: number) =>
      waitFor(
        async () => {
          const task = await get(id);
          return task.status === 'TASK_STATUS_ERROR' && task.attempt === attempt && task;
        },
        { timeoutMs: 15_000, what: `${id} failed at attempt ${attempt}` },
      );
    await Promise.all(ids.map((id) => failedAt(id, 1)));
    return { address, http, get, failedAt };
  }

  it('CLI: retry ID runs a failed task again as attempt 2; retry --kind re-runs every failed one', async () => {
    const { address, failedAt } = await failedCluster(3);
    const one = await drover('retry', '--leader', address, 'f1');
    expect(one).toMatchObject({ code: 0, stdout: 're-running f1 from attempt 2\n' });
    expect(await failedAt('f1', 2)).toMatchObject({
      attemptBase: 1,
      error: 'command "false" exited with code 1',
    });
    const rest = await drover('retry', '--leader', address, '--kind', 'command');
    expect(rest.stdout).toBe('re-running 3 failed tasks of kind command\n');
    await Promise.all([failedAt('f1', 3), failedAt('f2', 2), failedAt('f3', 2)]);
    const none = await drover('retry', '--leader', address, '--kind', 'nothing-here');
    expect(none.stdout).toBe('no failed tasks of kind nothing-here\n');
    const usage = await drover('retry', '--leader', address);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give a task id or --kind/);
  });

  it('HTTP: POST /v1/tasks/{id}:retry; a task that did not fail is a 409 that changes nothing', async () => {
    const { http, get } = await failedCluster(1);
    const made = await fetch(`${http}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'fine', payload: '1' }),
    });
    expect(made.status).toBe(201);
    await waitFor(async () => (await get('fine')).status === 'TASK_STATUS_COMPLETED', {
      timeoutMs: 10_000,
      what: 'fine completed',
    });
    const refused = await fetch(`${http}/v1/tasks/fine:retry`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /is completed; only a failed task/,
    );
    expect((await get('fine')).status).toBe('TASK_STATUS_COMPLETED');
    const retried = await fetch(`${http}/v1/tasks/f1:retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as WireTask).attemptBase).toBe(1);
  });

  it('over a strict gRPC client: RetryTask and RetryFailedTasks', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address, failedAt } = await failedCluster(2);
    const rpc = (method: string, body: object) =>
      pyJson(['-d', JSON.stringify(body), address, `scheduler.v1.SchedulerService/${method}`]);
    const { task } = (await rpc('RetryTask', { id: 'f1' })) as { task: WireTask };
    // Re-queued and, with a free slot, assigned in the same commit before the answer.
    expect(task).toMatchObject({ id: 'f1', attemptBase: 1 });
    expect(['TASK_STATUS_PENDING', 'TASK_STATUS_RUNNING']).toContain(task.status);
    await expect(rpc('RetryTask', { id: 'nope' })).rejects.toThrow(/not found/);
    await expect(rpc('RetryFailedTasks', { kind: 'bad kind' })).rejects.toThrow(
      /kind "bad kind" is not valid: use 1-64 letters/,
    );
    await failedAt('f1', 2);
    const { ids } = (await rpc('RetryFailedTasks', { kind: 'command' })) as { ids: string[] };
    expect(ids).toEqual(['f1', 'f2']);
    await Promise.all([failedAt('f1', 3), failedAt('f2', 2)]);
  });
});
