import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { useCluster } from '../helpers/use-cluster.js';

// The leader's connections to PostgreSQL over TLS, on a server of the test's own that
// serves the fixture certificate (for 127.0.0.1, signed by test/fixtures/tls/ca.pem):
// verified against the CA the URL names, and refused, saying what to add, without it.

const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

let server: PrivatePostgres | undefined;
afterEach(async () => {
  await server?.destroy();
  server = undefined;
});

describe('PostgreSQL over TLS', () => {
  const { cluster, clients } = useCluster();

  it('connects with sslmode=verify-full and the server CA, every session encrypted', async () => {
    server = await PrivatePostgres.create(undefined, {
      certFile: fixture('leader.pem'),
      keyFile: fixture('leader-key.pem'),
    });
    const url = `${server.url()}?sslmode=verify-full&sslrootcert=${fixture('ca.pem')}`;
    const leader = await cluster().startLeader(['--store', 'postgres', '--database-url', url]);
    await leader.process.waitForLine((l) => l.msg === 'leader active: took over');
    const api = clients(leader.address);
    await api.schedule({ id: 'over-tls', payload: '1' });
    expect((await api.task('over-tls')).status).toBe(TaskStatus.TASK_STATUS_PENDING);

    // The server's own view: every session of the leader's (store and lease) is on TLS.
    const observer = new pg.Client({ connectionString: server.url() });
    await observer.connect();
    try {
      const { rows } = await observer.query<{ application_name: string; ssl: boolean }>(
        `SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.application_name LIKE 'drover%'`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows.filter((r) => !r.ssl)).toEqual([]);
    } finally {
      await observer.end();
    }
  });

  it('refuses to start when the certificate does not verify, saying how to trust its CA', async () => {
    server = await PrivatePostgres.create(undefined, {
      certFile: fixture('leader.pem'),
      keyFile: fixture('leader-key.pem'),
    });
    const leader = cluster().spawn('leader', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--store',
      'postgres',
      '--database-url',
      `${server.url()}?sslmode=require`,
    ]);
    const { code } = await leader.exited; // bounded by the test's timeout
    expect(code).toBe(1);
    const stderr = leader.raw.filter((line) => line.startsWith('[stderr]'));
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(
      /^\[stderr\] drover: cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=require: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); .*add its CA to the URL with sslrootcert=/,
    );
    // pg's note on what sslmode=require means went into the JSON log, not bare onto stderr.
    expect(leader.lines.filter((l) => String(l.msg).startsWith('SECURITY WARNING'))).toHaveLength(
      1,
    );
  });
});
