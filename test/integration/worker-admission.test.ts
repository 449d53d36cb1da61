import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { LeaderServiceClient } from '../../src/gen/cluster/v1/leader.js';
import { createToken, drover } from '../helpers/cli-run.js';
import { useCluster } from '../helpers/use-cluster.js';

// Issue #20: a leader admits workers by their mTLS client certificate's name
// (--worker-cert-name), with or without tokens. The fixture client certificate is named
// "drover-cli" and signed by the client CA (test/fixtures/tls).
const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const SERVER_TLS = [
  ...['--tls-cert', fixture('leader.pem'), '--tls-key', fixture('leader-key.pem')],
  ...['--tls-client-ca', fixture('client-ca.pem')],
];
const CLIENT_TLS = [
  ...['--tls-ca', fixture('ca.pem')],
  ...['--tls-cert', fixture('client.pem'), '--tls-key', fixture('client-key.pem')],
];

describe('worker admission by client certificate name', () => {
  const { cluster } = useCluster();

  it('admits a worker whose certificate is named, refuses one that is not, with why', async () => {
    const admitting = await cluster().startLeader([
      ...['--store', 'memory', ...SERVER_TLS],
      ...['--worker-cert-name', 'drover-worker', 'drover-cli'],
    ]);
    await cluster().startWorker(admitting.address, 'named', CLIENT_TLS);
    // With no tokens, what is not a worker's call stays as open as the CA allows.
    const members = await drover('members', '--leader', admitting.address, ...CLIENT_TLS);
    expect(members.code).toBe(0);
    expect(members.stdout).toMatch(/^named\s+/m);
    // Another process with an admitted certificate cannot make the member leave: that
    // takes the session its own Join returned.
    const client = new LeaderServiceClient(
      admitting.address,
      credentials.createSsl(
        readFileSync(fixture('ca.pem')),
        readFileSync(fixture('client-key.pem')),
        readFileSync(fixture('client.pem')),
      ),
    );
    const left = await new Promise<ServiceError | null>((resolve) =>
      client.leave({ id: 'named', session: '' }, (err) => resolve(err)),
    );
    client.close();
    expect(left).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringMatching(/a Leave must carry the session its Join returned/),
    });

    const strict = await cluster().startLeader([
      ...['--store', 'memory', ...SERVER_TLS],
      ...['--worker-cert-name', 'drover-worker'],
    ]);
    const refused = cluster().spawn('refused', [
      ...['worker', '--leader', strict.address, '--id', 'refused', ...CLIENT_TLS],
    ]);
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.raw.join('\n')).toMatch(
      /did not admit this worker \(this leader admits workers by client certificate name; "drover-cli" is not one it admits\)/,
    );
    const after = await drover('members', '--leader', strict.address, ...CLIENT_TLS, '--json');
    expect(after.code).toBe(0);
    expect(after.stdout).not.toContain('refused');
  });

  it('with tokens: the named certificate admits a worker and nothing else; a join token still admits', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const joinToken = await createToken(file, 'worker');
    const named = await cluster().startLeader([
      ...['--store', 'memory', ...SERVER_TLS, '--tokens-file', file],
      ...['--worker-cert-name', 'drover-cli'],
    ]);
    await cluster().startWorker(named.address, 'by-cert', CLIENT_TLS);
    // The certificate is a worker's: it may not read the task list or schedule.
    const read = await drover('tasks', '--leader', named.address, ...CLIENT_TLS);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toMatch(/needs a token.*UNAUTHENTICATED/);

    const other = await cluster().startLeader([
      ...['--store', 'memory', ...SERVER_TLS, '--tokens-file', file],
      ...['--worker-cert-name', 'someone-else'],
    ]);
    await cluster().startWorker(other.address, 'by-token', [...CLIENT_TLS, '--token', joinToken]);
    const refused = cluster().spawn('no-token', [
      ...['worker', '--leader', other.address, '--id', 'no-token', ...CLIENT_TLS],
    ]);
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.raw.join('\n')).toMatch(/"drover-cli" is not one it admits/);
  });

  it('refuses --worker-cert-name without --tls-client-ca at start, with one clear line', async () => {
    const started = cluster().spawn('leader', [
      ...['leader', '--store', 'memory', '--listen', '127.0.0.1:0'],
      ...['--worker-cert-name', 'drover-worker'],
    ]);
    const { code } = await started.exited;
    expect(code).toBe(2);
    expect(started.raw.join('\n')).toMatch(/--worker-cert-name needs --tls-client-ca/);
  });
});
