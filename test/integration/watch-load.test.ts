import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { credentials, Metadata, status, type ClientReadableStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  SchedulerServiceClient,
  TaskStatus,
  type WatchTasksResponse,
} from '../../src/gen/scheduler/v1/scheduler.js';
import { taskDraft } from '../../src/client/task-draft.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Watchers that never read (issue #14, 3): 150 SSE streams and 150 gRPC WatchTasks calls on
// a leader listing 10,000 tasks must cost it a bounded amount of memory, leave it
// responsive and its workers alive, and one watch over the limit is refused clearly.

const TASKS = 10_000;
const EACH = 150;

/** The process's resident memory, in MiB. */
function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) / 1024;
}

/** An SSE request on a raw socket that is never read: its receive buffer fills and stays full. */
function deafSse(host: string, port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\naccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('watchers that never read', () => {
  const { cluster, clients } = useCluster();

  it(
    'cost the leader bounded memory, starve no heartbeat, and one over the limit is refused',
    { timeout: 90_000 },
    async () => {
      const {
        process: leader,
        address,
        http,
      } = await cluster().startLeader([
        '--store',
        'memory',
        '--max-watchers',
        String(2 * EACH),
        '--max-watchers-per-client',
        String(2 * EACH),
      ]);
      const api = clients(address);
      // Kind "idle": no worker runs it, so every task stays listed and pending.
      for (let batch = 0; batch < TASKS / 1000; batch++) {
        await api.call(api.scheduler, api.scheduler.scheduleTasks, {
          tasks: Array.from({ length: 1000 }, (_, i) =>
            taskDraft({ payload: `task ${batch * 1000 + i} `.padEnd(200, '.'), kind: 'idle' }),
          ),
        });
      }
      await cluster().startWorker(address, 'w1');
      const baseline = rssMiB(leader.pid);
      const started = Date.now();
      const mark = (what: string): void => {
        process.stderr.write(
          `watch-load: ${what} at ${Date.now() - started} ms (epoch ${Date.now()}), leader RSS ${rssMiB(leader.pid).toFixed(0)} MiB\n`,
        );
      };

      const { hostname, port } = new URL(http);
      const sockets = await Promise.all(
        Array.from({ length: EACH }, () => deafSse(hostname, Number(port), '/v1/tasks:watch')),
      );
      // Counted so a watcher that went away shows in a failure, not as a bare timeout.
      let sseClosed = 0;
      let grpcFailed = 0;
      for (const socket of sockets) socket.once('close', () => sseClosed++);
      mark('SSE watchers connected');
      // Their own connection: on a shared one, HTTP/2 flow control would stall this test's
      // other calls behind the streams it never reads (a client-side effect).
      const deaf = new SchedulerServiceClient(address, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      const calls: ClientReadableStream<WatchTasksResponse>[] = [];
      const failures: string[] = [];
      // A watch the transport failed before the leader saw it (UNAVAILABLE on a loaded
      // machine) is opened again, a bounded number of times; any other failure counts.
      let reopens = 0;
      const openWatch = (): void => {
        // Wait for ready: a connection that is slow to come up on a loaded machine must not
        // fail the watch before it reaches the leader (it would never be counted).
        const call = deaf.watchTasks(
          {
            status: TaskStatus.TASK_STATUS_UNSPECIFIED,
            memberId: '',
            includeControls: false,
            kind: '',
            id: '',
            untilEnded: false,
          },
          new Metadata({ waitForReady: true }),
        );
        call.on('error', (err: Error & { code?: number }) => {
          failures.push(`${err.code}: ${err.message}`);
          if (err.code === status.UNAVAILABLE && reopens++ < 5) openWatch();
          else grpcFailed++;
        });
        call.pause(); // never read
        calls.push(call);
      };
      for (let i = 0; i < EACH; i++) openWatch();

      mark('gRPC watchers started');
      // Every watch is open (admitted) before anything is measured. Counted by the leader's
      // metrics, which open no watch: probing with a watch of its own could take a place
      // meant for one of the test's, which would then be refused.
      await waitFor(
        async () => {
          const text = await (await fetch(`${http}/metrics`)).text();
          return /^drover_watch_subscribers (\d+)$/m.exec(text)?.[1] === String(2 * EACH);
        },
        { timeoutMs: 20_000, what: `${2 * EACH} watches open` },
      ).catch((err: unknown) => {
        throw new Error(
          `${(err as Error).message} (gRPC watches failed: ${grpcFailed}, SSE sockets closed: ${sseClosed}; gRPC errors: ${failures.join('; ')})`,
        );
      });
      const over = await fetch(`${http}/v1/tasks:watch`);
      expect(over.status).toBe(429);
      expect(((await over.json()) as { error: string }).error).toBe(
        `too many watches open on the leader (the most is ${2 * EACH}); close one and watch again`,
      );
      mark('all admitted');
      const grpcOver = await new Promise<{ code: number; details: string }>((resolve) => {
        const call = api.scheduler.watchTasks(
          {
            status: TaskStatus.TASK_STATUS_UNSPECIFIED,
            memberId: '',
            includeControls: false,
            kind: '',
            id: '',
            untilEnded: false,
          },
          new Metadata(),
        );
        call.on('data', () => undefined);
        call.on('error', (err: { code: number; details: string }) => resolve(err));
      });
      expect(grpcOver.code).toBe(status.RESOURCE_EXHAUSTED);

      // The leader still answers, and its worker is still alive (its heartbeats got through).
      const page = await api.call(api.scheduler, api.scheduler.getTasks, {
        status: TaskStatus.TASK_STATUS_UNSPECIFIED,
        memberId: '',
        kind: '',
        newestFirst: false,
        pageSize: 1000,
        pageToken: '',
      });
      expect(page.tasks).toHaveLength(1000);
      expect((await api.member('w1'))?.status).toBe('alive');
      expect(leader.linesWith('member dead')).toEqual([]);

      // Bounded: each deaf watcher holds a transport buffer, not a copy of 10,000 tasks
      // (before the fix: +4.8 GiB for the SSE watchers alone).
      mark('checked');
      const grown = rssMiB(leader.pid) - baseline;
      expect(grown).toBeLessThan(300);

      for (const socket of sockets) socket.destroy();
      for (const call of calls) call.cancel();
      deaf.close();
      // Released: watches can be opened again.
      await waitFor(
        async () => {
          const again = await fetch(`${http}/v1/tasks:watch`, {
            signal: AbortSignal.timeout(2000),
          });
          const ok = again.status === 200;
          await again.body?.cancel();
          return ok;
        },
        { timeoutMs: 10_000, what: 'watches released' },
      );
    },
  );
});
