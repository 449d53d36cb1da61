import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor, type Cluster, type DroverProcess, type LogLine } from '../helpers/processes.js';
import { dropTestSchemas, postgresStoreArgs } from '../helpers/pg-schema.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { useCluster } from '../helpers/use-cluster.js';

/** Crash points tried by the crash test (CRASH_POINTS overrides; CI runs the default). */
const CRASH_POINTS = Number(process.env['CRASH_POINTS'] ?? 6);

/**
 * The durable stores, each as the leader flags that point a fresh leader at a fresh store
 * (made once per test, so its restarts share it).
 */
const STORES: [string, (cluster: Cluster) => string[]][] = [
  ['SQLite', (cluster) => ['--data-dir', cluster.dataDir()]],
  ['PostgreSQL', () => postgresStoreArgs()],
];

afterAll(dropTestSchemas);

/** The demo handler's progress lines, one per quarter of its work. */
const EVERY_QUARTER = ['25%', '50%', '75%', '100%'];
/** Matches the worker's log line for one quarter of the demo handler's work. */
const progress = (p: string) => (l: LogLine) =>
  l.msg === 'demo task working' && l['progress'] === p;

describe.each(STORES)('durable task list (%s store)', (_name, freshStore) => {
  const { cluster, clients } = useCluster();
  /** A leader on the store; on PostgreSQL, once it holds the lease and serves. */
  const startLeader = async (args: string[], name?: string) => {
    const leader = await cluster().startLeader(args, name);
    if (args.includes('postgres')) {
      await leader.process.waitForLine((l) => l.msg === 'leader active: took over');
    }
    return leader;
  };
  /**
   * Starts a second leader on `store` at `port` and waits until task `chatty` (the demo
   * handler) has completed there; returns the progress `drover logs chatty` shows, in order.
   */
  const progressAfterRestart = async (store: string[], port: string, timeoutMs: number) => {
    const second = await startLeader([...store, '--listen', `127.0.0.1:${port}`], 'leader-2');
    const api = clients(second.address);
    await waitFor(
      async () => (await api.task('chatty')).status === TaskStatus.TASK_STATUS_COMPLETED,
      { timeoutMs, what: 'chatty completed' },
    );
    const logs = await drover('logs', 'chatty', '--leader', second.address);
    expect(logs.code).toBe(0);
    return logs.stdout
      .split('\n')
      .filter((l) => l.includes('demo task working'))
      .map((l) => /"progress":"(\d+%)"/.exec(l)?.[1]);
  };

  it(`keeps every acknowledged task through ${CRASH_POINTS} SIGKILLs of the leader, each finished once`, async () => {
    const store = freshStore(cluster());
    const random = seededRandom(20261124);
    // The test's timings are short (a 500 ms re-attach grace, members dead after 600 ms),
    // so on a loaded CI machine a slow reconnect or a stalled worker can cost a running
    // task an attempt at several crashes, and the default budget of 3 could end one in
    // ERROR (CI saw it once). That is the attempt budget doing its job, not a lost task;
    // this test is about durability, so it gives the budget room.
    const start = async (n: number, port = '0') => {
      const leader = await startLeader(
        [
          ...store,
          ...['--listen', `127.0.0.1:${port}`, '--reattach-grace-ms', '500'],
          ...['--max-attempts', '100'],
        ],
        `leader-${n}`,
      );
      return { ...leader, api: clients(leader.address) };
    };
    let leader = await start(0);
    const port = leader.address.split(':').at(-1)!;
    for (const id of ['w1', 'w2']) {
      await cluster().startWorker(leader.address, id, ['--slots', '3']);
    }

    // One producer, one call at a time: the order of acknowledgements is the FIFO order.
    const acknowledged: string[] = [];
    let next = 0;
    let producing = true;
    const producer = (async () => {
      // Bounded: only while the test is producing, and at most 400 calls per crash point
      // (a crash point takes up to 45 acknowledgements, plus a call refused every 20 ms
      // while the leader restarts, which on a loaded machine can take seconds) and 500 more.
      while (producing && next < CRASH_POINTS * 400 + 500) {
        const id = `c${next++}`;
        try {
          await leader.api.schedule({ id, payload: String(Math.floor(random() * 20)) });
          acknowledged.push(id);
        } catch {
          // Not acknowledged (the leader was down): it may or may not be there; both are fine.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();

    for (let crash = 1; crash <= CRASH_POINTS; crash++) {
      // Crash at a random moment: after a random number of further acknowledgements.
      const target = acknowledged.length + 5 + Math.floor(random() * 40);
      await waitFor(() => acknowledged.length >= target || undefined, {
        timeoutMs: 20_000,
        what: `${target} tasks acknowledged before crash ${crash}`,
      });
      leader.process.kill('SIGKILL');
      await leader.process.exited;
      leader = await start(crash, port);
    }
    producing = false;
    await producer;

    const api = leader.api;
    const all = await api.whenAllFinished('every task finished after the last restart', 30_000);
    const byId = new Map(all.map((t) => [t.id, t]));
    // Every acknowledged task is there, once, completed; nothing else appeared.
    expect(byId.size).toBe(all.length);
    for (const id of acknowledged) {
      const task = byId.get(id);
      // The whole task in the message, so a failure says which attempt went wrong and why.
      expect(task?.status, JSON.stringify(task)).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    }
    expect(all.every((t) => /^c\d+$/.test(t.id))).toBe(true);
    // FIFO: the list (creation order) has the acknowledged tasks in acknowledgement order.
    const listed = all.map((t) => t.id).filter((id) => acknowledged.includes(id));
    expect(listed).toEqual(acknowledged);
    expect(acknowledged.length).toBeGreaterThan(CRASH_POINTS * 5);
  }, 120_000);

  it('re-attaches a task still running on a live worker after a restart: no second run', async () => {
    const store = freshStore(cluster());
    const first = await startLeader(store);
    const port = first.address.split(':').at(-1)!;
    const worker = await cluster().startWorker(first.address, 'w1', ['--slots', '1']);
    const api = clients(first.address);
    // Long enough to outlast the second leader's start on a loaded CI machine (1.5 s did
    // not once: the worker's report of the finished task was what re-attached it).
    await api.schedule({ id: 'long', payload: '5000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');
    first.process.kill('SIGKILL');
    await first.process.exited;

    const second = await startLeader([...store, '--listen', `127.0.0.1:${port}`], 'leader-2');
    const api2 = clients(second.address);
    const restored = await api2.task('long');
    expect(restored).toMatchObject({ status: TaskStatus.TASK_STATUS_RUNNING, attempt: 1 });
    const done = await waitFor(
      async () => {
        const task = await api2.task('long');
        return task.status === TaskStatus.TASK_STATUS_COMPLETED && task;
      },
      { timeoutMs: 15_000, what: 'long task completed' },
    );
    expect(done).toMatchObject({ attempt: 1, memberId: 'w1', result: 'worked 5000 ms' });
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'long')).toHaveLength(1);
  }, 30_000);

  it('keeps what a task writes while its worker cannot reach the leader, and sends it once it can', async () => {
    const store = freshStore(cluster());
    const first = await startLeader(store);
    const port = first.address.split(':').at(-1)!;
    const worker = await cluster().startWorker(first.address, 'w1', ['--slots', '1']);
    const api = clients(first.address);
    // The demo handler logs its progress at each quarter of 8 s, to the worker's own log
    // and to the task's output.
    await api.schedule({ id: 'chatty', payload: '8000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'chatty');
    first.process.kill('SIGKILL');
    await first.process.exited;
    await worker.waitForLine(progress('25%'), 10_000);
    // Written while there was no leader: its stream had closed before.
    const lines = worker.lines.map((l) => l.msg);
    expect(lines.indexOf('heartbeat stream closed')).toBeGreaterThan(-1);
    expect(lines.indexOf('heartbeat stream closed')).toBeLessThan(
      lines.indexOf('demo task working'),
    );

    expect(await progressAfterRestart(store, port, 20_000)).toEqual(EVERY_QUARTER);
  }, 40_000);

  it('keeps what a task wrote to a leader that froze before saving it: the worker sends it again', async () => {
    const store = freshStore(cluster());
    // The worker gives up on a silent leader after --dead-after-ms (3 s here); the task
    // logs its progress at 2, 4, 6 and 8 s.
    const slow = ['--suspect-after-ms', '2500', '--dead-after-ms', '3000'];
    const first = await startLeader([...store, ...slow]);
    const port = first.address.split(':').at(-1)!;
    const worker = await cluster().startWorker(first.address, 'w1', ['--slots', '1']);
    const api = clients(first.address);
    await api.schedule({ id: 'chatty', payload: '8000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'chatty');
    first.process.kill('SIGSTOP');
    await worker.waitForLine(progress('25%'), 10_000);
    await worker.waitForLine((l) => l.msg === 'heartbeat stream closed', 10_000);
    // The 25% line went up the stream to the frozen leader, which never saved it.
    const lines = worker.lines.map((l) => l.msg);
    expect(lines.indexOf('demo task working')).toBeLessThan(
      lines.indexOf('heartbeat stream closed'),
    );
    first.process.kill('SIGKILL');
    await first.process.exited;

    // Each line once: what the first leader had saved is not kept twice.
    expect(await progressAfterRestart(store, port, 30_000)).toEqual(EVERY_QUARTER);
  }, 60_000);

  it('requeues a running task whose worker never comes back, as a new attempt', async () => {
    const store = freshStore(cluster());
    const first = await startLeader(store);
    const worker = await cluster().startWorker(first.address, 'gone', ['--slots', '1']);
    await clients(first.address).schedule({ id: 'orphan', payload: '60000' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'orphan');
    worker.kill('SIGKILL');
    first.process.kill('SIGKILL');
    await Promise.all([worker.exited, first.process.exited]);

    const second = await startLeader([...store, '--reattach-grace-ms', '300']);
    await cluster().startWorker(second.address, 'other', ['--slots', '1']);
    const api = clients(second.address);
    const moved = await waitFor(
      async () => {
        const task = await api.task('orphan');
        return task.status === TaskStatus.TASK_STATUS_RUNNING && task.memberId === 'other' && task;
      },
      { timeoutMs: 10_000, what: 'orphan running on the other worker' },
    );
    expect(moved.attempt).toBe(2);
  }, 30_000);

  it('prunes finished tasks beyond the retention, and they stay pruned after a restart', async () => {
    const args = [...freshStore(cluster()), '--retain-finished', '2'];
    const first = await startLeader(args);
    const port = first.address.split(':').at(-1)!;
    await cluster().startWorker(first.address, 'w1', ['--slots', '1']);
    const api = clients(first.address);
    for (let i = 1; i <= 5; i++) await api.schedule({ id: `r${i}`, payload: '1' });
    await api.schedule({ id: 'open', payload: '60000' });
    const kept = await waitFor(
      async () => {
        const ids = (await api.tasks()).map((t) => t.id);
        return ids.length === 3 && ids;
      },
      { timeoutMs: 10_000, what: 'the list pruned down to 2 finished + 1 running' },
    );
    expect(kept).toEqual(['r4', 'r5', 'open']);
    first.process.kill('SIGKILL');
    await first.process.exited;
    const second = await startLeader([...args, '--listen', `127.0.0.1:${port}`], 'leader-2');
    expect((await clients(second.address).tasks()).map((t) => t.id)).toEqual(['r4', 'r5', 'open']);
  }, 30_000);
});

describe('durable task list (SQLite store only)', () => {
  const { cluster, clients } = useCluster();

  it('refuses a data directory another leader holds, and a corrupt file, exiting non-zero', async () => {
    const dataDir = cluster().dataDir();
    const holder = await cluster().startLeader(['--data-dir', dataDir]);
    await clients(holder.address).schedule({ id: 'kept', payload: '1' });

    const second = cluster().spawn('second', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dataDir,
    ]);
    expect((await second.exited).code).toBe(1);
    expect(stderrOf(second)).toMatch(
      /is locked by another process \(is another leader using this --data-dir\?\)/,
    );
    expect((await clients(holder.address).task('kept')).id).toBe('kept');

    const badDir = cluster().dataDir();
    writeFileSync(join(badDir, 'drover.sqlite'), 'not a database '.repeat(500));
    const corrupt = cluster().spawn('corrupt', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      badDir,
    ]);
    expect((await corrupt.exited).code).toBe(1);
    expect(stderrOf(corrupt)).toMatch(/is not a drover database or is corrupt/);
  }, 30_000);

  it('exits at once with one clear line when the data directory cannot be made', async () => {
    const file = join(cluster().dataDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    // Under /proc mkdir fails with ENOENT whatever exists: Node's recursive mkdir spun there
    // for ever, deaf to SIGTERM.
    const cases: [string, RegExp][] = [
      [file, /cannot use .*a-file as the data directory: .*a-file is a file, not a directory/],
      [join(file, 'sub'), /is a file, not a directory/],
      ['/proc/drover-nope', /cannot create the data directory \/proc\/drover-nope: ENOENT/],
    ];
    for (const [i, [dataDir, message]] of cases.entries()) {
      const leader = cluster().spawn(`bad-dir-${i}`, [
        'leader',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
      ]);
      expect((await leader.exited).code).toBe(1);
      const lines = leader.raw.filter((line) => line.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  }, 30_000);
});

function stderrOf(proc: DroverProcess): string {
  return proc.raw.join('\n');
}
