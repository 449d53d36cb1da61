import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/use-cluster.js';

/** A loopback port held by someone else for the test's duration. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

/** Rejects if `promise` has not settled within `ms` (a bound on a wait, not a timing claim). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe('leader start-up and shut-down', () => {
  const { cluster } = useCluster();

  it.each(['gRPC', 'HTTP'] as const)(
    'exits 1 with one clear line when its %s port is busy, releasing the data directory',
    async (which) => {
      const { port, server } = await busyPort();
      try {
        const dataDir = cluster().dataDir();
        const grpc = which === 'gRPC' ? `127.0.0.1:${port}` : '127.0.0.1:0';
        const http = which === 'HTTP' ? `127.0.0.1:${port}` : '127.0.0.1:0';
        const leader = cluster().spawn('leader', [
          'leader',
          '--data-dir',
          dataDir,
          '--listen',
          grpc,
          '--http-listen',
          http,
        ]);
        const { code } = await within(leader.exited, 10_000, 'leader exit');
        expect(code).toBe(1);
        const errors = leader.raw.filter((line) => line.startsWith('[stderr]'));
        expect(errors).toEqual([
          `[stderr] drover: cannot listen for ${which} on 127.0.0.1:${port}: the address is already in use`,
        ]);
        // It never said it was serving, so nothing could have reached it.
        expect(leader.linesWith('leader listening')).toEqual([]);
        // The lock is free: a leader on free ports takes the same data directory.
        const next = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
        expect(next.address).toMatch(/^127\.0\.0\.1:\d+$/);
      } finally {
        server.close();
      }
    },
  );

  it('cuts a stalled HTTP request at the end of the shutdown grace and frees the lock', async () => {
    const dataDir = cluster().dataDir();
    const { process: leader, http } = await cluster().startLeader([
      '--data-dir',
      dataDir,
      '--shutdown-grace-ms',
      '300',
    ]);
    const { hostname, port } = new URL(http);
    // 6 of the 100 body bytes it announces, then silence.
    const socket: Socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /v1/tasks HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"payl`,
    );
    socket.resume(); // read whatever comes, so the end of the connection is seen
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // A request answered on another connection after the write: the server is taking
    // connections, so the stalled one is open and waiting for its body.
    expect((await fetch(`${http}/healthz`)).status).toBe(200);

    leader.kill('SIGTERM');
    const { code } = await within(leader.exited, 10_000, 'leader exit after SIGTERM');
    expect(code).toBe(0);
    await within(closed, 1_000, 'stalled connection closed');
    await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
  });

  it.each([
    [
      'a database URL without --store postgres',
      ['--database-url', 'postgres://postgres@127.0.0.1:5432/test'],
      2,
      'drover: --database-url (or DROVER_DATABASE_URL) is set but --store is sqlite: add --store postgres (or DROVER_STORE=postgres), or unset the URL',
    ],
    [
      'a database URL that is not a postgres:// URL',
      ['--store', 'postgres', '--database-url', 'test'],
      2,
      'drover: --database-url must be a postgres:// (or postgresql://) URL, e.g. postgres://user:password@db.example:5432/drover',
    ],
    [
      'a database that does not exist',
      [
        '--store',
        'postgres',
        '--database-url',
        'postgres://postgres@127.0.0.1:5432/drover_no_such_db',
      ],
      1,
      'drover: PostgreSQL at postgres://postgres@127.0.0.1:5432/drover_no_such_db refused the connection: database "drover_no_such_db" does not exist (3D000)',
    ],
    [
      'TLS asked of a server without it (the shared one has ssl off)',
      [
        '--store',
        'postgres',
        '--database-url',
        'postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full',
      ],
      1,
      'drover: cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full: The server does not support SSL connections; remove sslmode from the URL, or turn ssl on in the server',
    ],
  ])('refuses %s at start with one clear line', async (_what, args, exitCode, message) => {
    const leader = cluster().spawn('leader', ['leader', '--listen', '127.0.0.1:0', ...args]);
    const { code } = await within(leader.exited, 10_000, 'leader exit');
    expect(code).toBe(exitCode);
    expect(leader.raw.filter((line) => line.startsWith('[stderr]'))).toEqual([
      `[stderr] ${message}`,
    ]);
    expect(leader.linesWith('leader listening')).toEqual([]);
  });
});

describe('worker start-up', () => {
  const { cluster } = useCluster();

  it("gives up on a leader address that is the leader's HTTP port with one line saying so, exit 3", async () => {
    const { http } = await cluster().startLeader();
    const httpAddress = new URL(http).host;
    const worker = cluster().spawn('worker', [
      'worker',
      '--leader',
      httpAddress,
      '--give-up-after-ms',
      '800',
    ]);
    const { code } = await within(worker.exited, 15_000, 'worker exit');
    expect(code).toBe(3);
    const errors = worker.raw.filter((line) => line.startsWith('[stderr]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^\\[stderr\\] drover: worker: no leader answered for \\d+ ms \\(tried ${httpAddress}\\); last: ${httpAddress}: .*Protocol error \\(is that the leader's gRPC port, not its HTTP one\\? see --leader\\)$`,
      ),
    );
  });
});
