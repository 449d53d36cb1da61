import { describe, expect, it } from 'vitest';
import { MemberEventKind, type WatchMembersResponse } from '../../src/gen/cluster/v1/leader.js';
import {
  TaskEventKind,
  TaskStatus,
  type WatchTasksResponse,
} from '../../src/gen/scheduler/v1/scheduler.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Live watches: the gRPC server streams, the same over HTTP as Server-Sent Events, and
// `drover watch --json`, against a real leader and a real worker.

/** Reads an SSE response into parsed events as they arrive. */
class SseReader {
  readonly events: { event: string; data: Record<string, unknown> }[] = [];
  private readonly controller = new AbortController();
  readonly done: Promise<void>;
  status = 0;
  contentType = '';

  constructor(url: string) {
    this.done = (async () => {
      const response = await fetch(url, { signal: this.controller.signal });
      this.status = response.status;
      this.contentType = response.headers.get('content-type') ?? '';
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) {
            this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      }
    })().catch((err: unknown) => {
      if ((err as Error).name !== 'AbortError') throw err;
    });
  }

  close(): void {
    this.controller.abort();
  }
}

describe('watch streams', () => {
  const { cluster, clients } = useCluster();

  it('WatchTasks sends a snapshot, SYNCED, then every saved change; filters by status', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    await api.schedule({ id: 'before', payload: '1' });

    const all: WatchTasksResponse[] = [];
    const running: WatchTasksResponse[] = [];
    const watchAll = api.scheduler.watchTasks({
      status: 0,
      memberId: '',
      includeControls: false,
      kind: '',
      id: '',
      untilEnded: false,
    });
    const watchRunning = api.scheduler.watchTasks({
      status: TaskStatus.TASK_STATUS_RUNNING,
      memberId: '',
      includeControls: false,
      kind: '',
      id: '',
      untilEnded: false,
    });
    watchAll.on('data', (e: WatchTasksResponse) => all.push(e));
    watchRunning.on('data', (e: WatchTasksResponse) => running.push(e));
    watchAll.on('error', () => {});
    watchRunning.on('error', () => {});
    await waitFor(() => all.length === 2 && running.length === 1, {
      timeoutMs: 5000,
      what: 'snapshots',
    });
    expect(all.map((e) => [e.kind, e.task?.id])).toEqual([
      [TaskEventKind.TASK_EVENT_KIND_SNAPSHOT, 'before'],
      [TaskEventKind.TASK_EVENT_KIND_SYNCED, undefined],
    ]);
    expect(running.map((e) => e.kind)).toEqual([TaskEventKind.TASK_EVENT_KIND_SYNCED]);

    await cluster().startWorker(address, 'w1');
    await api.schedule({ id: 'after', payload: '1' });
    await waitFor(
      () => all.filter((e) => e.task?.status === TaskStatus.TASK_STATUS_COMPLETED).length === 2,
      { timeoutMs: 5000, what: 'both completions seen' },
    );
    const afterStates = all.filter((e) => e.task?.id === 'after').map((e) => e.task!.status);
    // Saved states in order: scheduled and assigned in one commit, so it may never have
    // been saved as pending; then running, then completed.
    expect(afterStates.filter((s) => s !== TaskStatus.TASK_STATUS_PENDING)).toEqual([
      TaskStatus.TASK_STATUS_RUNNING,
      TaskStatus.TASK_STATUS_COMPLETED,
    ]);
    // The running-only watch saw each task run, and leave the filter when it finished.
    await waitFor(
      () => running.filter((e) => e.task?.status === TaskStatus.TASK_STATUS_COMPLETED).length === 2,
      {
        timeoutMs: 5000,
        what: 'running watch saw the tasks leave',
      },
    );
    expect(
      running
        .filter((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_CHANGED)
        .every((e) => e.task?.status !== TaskStatus.TASK_STATUS_PENDING),
    ).toBe(true);
    watchAll.cancel();
    watchRunning.cancel();
  });

  it('WatchTasks of one id ends with its task when asked (until_ended), and stays open when not', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    // No worker: both wait for their cancels.
    await api.schedule({ id: 'kept', payload: 'x' });
    await api.schedule({ id: 'ended', payload: 'x' });
    const watchOf = (id: string, untilEnded: boolean, kind = '') => {
      const events: WatchTasksResponse[] = [];
      const call = api.scheduler.watchTasks({
        status: TaskStatus.TASK_STATUS_UNSPECIFIED,
        memberId: '',
        includeControls: false,
        kind,
        id,
        untilEnded,
      });
      call.on('data', (e: WatchTasksResponse) => events.push(e));
      const closed = new Promise<string>((resolve) => {
        call.on('end', () => resolve('end'));
        call.on('error', (err: Error & { code?: number }) => resolve(`error ${err.code}`));
      });
      return { call, events, closed };
    };
    const open = watchOf('kept', false);
    const ending = watchOf('ended', true);
    const synced = (w: { events: WatchTasksResponse[] }) =>
      w.events.some((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED);
    await waitFor(() => synced(open) && synced(ending), { timeoutMs: 5_000, what: 'both synced' });
    await api.cancel('kept');
    await api.cancel('ended');
    expect(await ending.closed).toBe('end');
    expect(ending.events.at(-1)?.task?.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
    // Not asked to end: the watch goes on past the end, and sees the task deleted.
    await api.call(api.scheduler, api.scheduler.deleteTask, { id: 'kept' });
    await waitFor(() => open.events.some((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_DELETED), {
      timeoutMs: 5_000,
      what: 'the deletion on the open watch',
    });
    open.call.cancel();
    // Ended already: over at SYNCED. With another filter: refused.
    const late = watchOf('ended', true);
    expect(await late.closed).toBe('end');
    expect(late.events.map((e) => e.kind)).toEqual([
      TaskEventKind.TASK_EVENT_KIND_SNAPSHOT,
      TaskEventKind.TASK_EVENT_KIND_SYNCED,
    ]);
    expect(await watchOf('ended', true, 'default').closed).toBe('error 3');
  });

  it('WatchMembers sends member changes; the leader ends watches with UNAVAILABLE on shutdown', async () => {
    const { address, process: leader } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    const events: WatchMembersResponse[] = [];
    const watch = api.leader.watchMembers({});
    const ended = new Promise<{ code?: number }>((resolve) => watch.on('error', resolve));
    watch.on('data', (e: WatchMembersResponse) => events.push(e));
    await waitFor(() => events.length === 1, { timeoutMs: 5000, what: 'synced' });
    expect(events[0]!.kind).toBe(MemberEventKind.MEMBER_EVENT_KIND_SYNCED);

    const worker = await cluster().startWorker(address, 'w1');
    await waitFor(() => events.some((e) => e.member?.status === 'alive'), {
      timeoutMs: 5000,
      what: 'w1 alive seen',
    });
    worker.kill('SIGKILL');
    await waitFor(() => events.some((e) => e.member?.status === 'dead'), {
      timeoutMs: 5000,
      what: 'w1 dead seen',
    });
    const states = events.filter((e) => e.member?.id === 'w1').map((e) => e.member!.status);
    expect(states).toEqual(['joining', 'alive', 'dead']);

    leader.kill('SIGTERM');
    expect((await ended).code).toBe(14 /* UNAVAILABLE */);
    expect((await leader.exited).code).toBe(0);
  });

  it('serves the same watches as Server-Sent Events', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    await api.schedule({ id: 'first', payload: '1' });
    const tasks = new SseReader(`${http}/v1/tasks:watch`);
    const members = new SseReader(`${http}/v1/members:watch`);
    await waitFor(() => tasks.events.some((e) => e.event === 'synced'), {
      timeoutMs: 5000,
      what: 'task snapshot',
    });
    expect(tasks.status).toBe(200);
    expect(tasks.contentType).toMatch(/^text\/event-stream/);
    expect(tasks.events.map((e) => [e.event, e.data['id']])).toEqual([
      ['snapshot', 'first'],
      ['synced', undefined],
    ]);
    await cluster().startWorker(address, 'w1');
    await waitFor(
      () =>
        tasks.events.some(
          (e) => e.event === 'changed' && e.data['status'] === 'TASK_STATUS_COMPLETED',
        ) && members.events.some((e) => e.event === 'changed' && e.data['status'] === 'alive'),
      { timeoutMs: 5000, what: 'completion and member seen over SSE' },
    );
    // Deleting a finished task is an event too.
    await fetch(`${http}/v1/tasks/first`, { method: 'DELETE' });
    await waitFor(
      () => tasks.events.some((e) => e.event === 'deleted' && e.data['id'] === 'first'),
      {
        timeoutMs: 5000,
        what: 'deleted event',
      },
    );
    // Issue #18: with controls=true, a pause, limit or cron change is a `control` event.
    const controls = new SseReader(`${http}/v1/tasks:watch?controls=true`);
    await waitFor(() => controls.events.some((e) => e.event === 'synced'), {
      timeoutMs: 5000,
      what: 'controls watch synced',
    });
    await fetch(`${http}/v1/keys/tenant-a:pause`, { method: 'POST' });
    await waitFor(() => controls.events.some((e) => e.event === 'control'), {
      timeoutMs: 5000,
      what: 'control event',
    });
    expect(controls.events.find((e) => e.event === 'control')?.data).toMatchObject({
      pause: { key: 'tenant-a' },
    });
    expect(tasks.events.some((e) => e.event === 'control')).toBe(false);
    // A watch that starts later gets the pause in its snapshot, before `synced`.
    const later = new SseReader(`${http}/v1/tasks:watch?controls=true`);
    await waitFor(() => later.events.some((e) => e.event === 'synced'), {
      timeoutMs: 5000,
      what: 'second controls watch synced',
    });
    expect(later.events[0]).toMatchObject({
      event: 'control',
      data: { pause: { key: 'tenant-a' } },
    });
    later.close();
    await later.done;
    controls.close();
    tasks.close();
    members.close();
    await Promise.all([tasks.done, members.done, controls.done]);
  });

  it('drover watch --json prints each event as a JSON line', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    const watch = cluster().spawn('watch', ['watch', '--json', '--leader', address]);
    const synced = () => watch.raw.filter((line) => line.includes('KIND_SYNCED')).length === 2;
    await waitFor(() => synced(), { timeoutMs: 5000, what: 'watch synced' });
    await cluster().startWorker(address, 'w1');
    const id = await api.schedule({ payload: '1' });
    await waitFor(
      () =>
        watch.lines.some(
          (l) =>
            l['stream'] === 'tasks' &&
            (l['task'] as { id?: string; status?: string } | undefined)?.id === id &&
            (l['task'] as { status?: string }).status === 'TASK_STATUS_COMPLETED',
        ),
      { timeoutMs: 5000, what: 'completion printed' },
    );
    expect(
      watch.lines.some(
        (l) => l['stream'] === 'members' && l['kind'] === 'MEMBER_EVENT_KIND_CHANGED',
      ),
    ).toBe(true);
    watch.kill('SIGINT');
    expect((await watch.exited).code).toBe(0);
  });

  it("serves the dashboard's API: watches without a snapshot, by kind or one id, stats live, newest-first lists", async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    const api = clients(address);
    for (const [id, kind] of [
      ['old-a', 'a'],
      ['old-b', 'b'],
    ]) {
      await api.schedule({ id, payload: '1', kind });
    }
    const changesOfA = new SseReader(`${http}/v1/tasks:watch?snapshot=false&kind=a`);
    const oneTask = new SseReader(`${http}/v1/tasks:watch?snapshot=false&id=new-b`);
    const stats = new SseReader(`${http}/v1/stats:watch`);
    await waitFor(
      () => [changesOfA, oneTask, stats].every((r) => r.events.some((e) => e.event === 'synced')),
      { timeoutMs: 5000, what: 'three watches synced' },
    );
    // No snapshot: `synced` comes first, whatever is there.
    expect(changesOfA.events.map((e) => e.event)).toEqual(['synced']);
    expect(stats.events[0]).toMatchObject({ event: 'stats', data: { tasks: { pending: 2 } } });
    await api.schedule({ id: 'new-b', payload: '1', kind: 'b' });
    await api.schedule({ id: 'new-a', payload: '1', kind: 'a' });
    await waitFor(
      () =>
        changesOfA.events.some((e) => e.data['id'] === 'new-a') &&
        oneTask.events.some((e) => e.data['id'] === 'new-b') &&
        stats.events.some(
          (e) =>
            e.event === 'stats' &&
            e.data['tasks'] !== undefined &&
            (e.data['tasks'] as Record<string, number>)['pending'] === 4,
        ),
      { timeoutMs: 5000, what: 'the changes of kind a, of task new-b, and the stats after them' },
    );
    expect(changesOfA.events.filter((e) => e.event === 'changed').map((e) => e.data['id'])).toEqual(
      ['new-a'],
    );
    expect(oneTask.events.filter((e) => e.event === 'changed').map((e) => e.data['id'])).toEqual([
      'new-b',
    ]);
    // A row that appears live says why it waits, as one read with GetTasks does.
    expect(oneTask.events.find((e) => e.event === 'changed')?.data['waiting']).toMatch(
      /^no worker: .* runs kind b$/,
    );

    const list = async (query: string) => {
      const response = await fetch(`${http}/v1/tasks?${query}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const newest = await list('newestFirst=true&pageSize=3');
    expect((newest.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual([
      'new-a',
      'new-b',
      'old-b',
    ]);
    const older = await list(
      `newestFirst=true&pageSize=3&pageToken=${String(newest.body['nextPageToken'])}`,
    );
    expect((older.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['old-a']);
    const ofA = await list('kind=a');
    expect((ofA.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['old-a', 'new-a']);
    const bad = await list('kind=not%20a%20kind');
    expect(bad.status).toBe(400);
    expect(String(bad.body['error'])).toMatch(/kind filter/);
    const stat = await (await fetch(`${http}/v1/stats`)).json();
    expect(stat).toMatchObject({
      tasks: { pending: 4 },
      queued: { medium: 4 },
      slots: { total: 0, free: 0 },
    });
    for (const reader of [changesOfA, oneTask, stats]) reader.close();
  });

  it('serves the dashboard at / with a strict CSP, and nothing there with --no-dashboard', async () => {
    const { http } = await cluster().startLeader(['--store', 'memory']);
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect((await fetch(`${http}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    // Other paths keep the API's JSON answers.
    const missing = await fetch(`${http}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route GET /nope' });
    const { http: bare } = await cluster().startLeader(
      ['--store', 'memory', '--no-dashboard'],
      'bare',
    );
    expect((await fetch(`${bare}/`)).status).toBe(404);
  });
});
