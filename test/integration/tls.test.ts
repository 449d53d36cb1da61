import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/use-cluster.js';

// TLS with test certificates (test/fixtures/tls: a CA and a leader certificate for
// localhost and 127.0.0.1, and a client CA with one client certificate, all valid for
// 100 years; the CAs' keys were thrown away).
const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const CA = fixture('ca.pem');
const CERT = fixture('leader.pem');
const KEY = fixture('leader-key.pem');

function httpsGet(
  url: string,
  ca: Buffer,
  client: { cert: Buffer; key: Buffer } | undefined = undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { ca, ...client, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('timed out')));
  });
}

describe('TLS', () => {
  const { cluster } = useCluster();

  it('serves gRPC and HTTPS with --tls-cert/--tls-key; workers and the CLI connect with the CA; plaintext is refused', async () => {
    const { address, http } = await cluster().startLeader([
      '--store',
      'memory',
      '--tls-cert',
      CERT,
      '--tls-key',
      KEY,
    ]);
    const https = http.replace(/^http:/, 'https:');
    expect(await httpsGet(`${https}/healthz`, readFileSync(CA))).toEqual({
      status: 200,
      body: '{"status":"ok"}',
    });
    // The dashboard is served on the same listener, so over the same TLS.
    const page = await httpsGet(`${https}/`, readFileSync(CA));
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="app.js">');
    await cluster().startWorker(address, 'secure', ['--tls-ca', CA]);
    const members = cluster().spawn('cli', ['members', '--leader', address, '--tls-ca', CA]);
    expect((await members.exited).code).toBe(0);
    expect(members.raw.join('\n')).toMatch(/^secure\s+/m);
    // A plaintext client cannot talk to a TLS leader: "cannot reach", exit code 3.
    const plain = cluster().spawn('plain', ['members', '--leader', address]);
    expect((await plain.exited).code).toBe(3);
  });

  it('requires client certificates on gRPC and HTTPS with --tls-client-ca (mTLS)', async () => {
    const CLIENT_CA = fixture('client-ca.pem');
    const CLIENT = fixture('client.pem');
    const CLIENT_KEY = fixture('client-key.pem');
    const { address, http } = await cluster().startLeader([
      '--store',
      'memory',
      '--tls-cert',
      CERT,
      '--tls-key',
      KEY,
      '--tls-client-ca',
      CLIENT_CA,
    ]);
    const withCert = ['--tls-ca', CA, '--tls-cert', CLIENT, '--tls-key', CLIENT_KEY];
    const ok = cluster().spawn('cli', ['members', '--leader', address, ...withCert]);
    expect((await ok.exited).code).toBe(0);
    const noCert = cluster().spawn('cli2', ['members', '--leader', address, '--tls-ca', CA]);
    expect((await noCert.exited).code).toBe(3);
    expect(noCert.raw.join('\n')).toMatch(
      /the leader requires a client certificate: give --tls-cert and --tls-key/,
    );

    const https = http.replace(/^http:/, 'https:');
    await expect(httpsGet(`${https}/healthz`, readFileSync(CA))).rejects.toThrow();
    expect(
      await httpsGet(`${https}/healthz`, readFileSync(CA), {
        cert: readFileSync(CLIENT),
        key: readFileSync(CLIENT_KEY),
      }),
    ).toMatchObject({ status: 200 });
  });

  it.each([
    [
      'client CA alone (no TLS to ask for client certificates over)',
      ['--tls-client-ca', CA],
      '--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for over TLS',
    ],
    [
      'a certificate file that is missing',
      ['--tls-cert', fixture('missing.pem'), '--tls-key', KEY],
      `--tls-cert ${fixture('missing.pem')}: ENOENT: no such file or directory, open '${fixture('missing.pem')}'`,
    ],
    [
      'a key given as the client CA (every handshake would fail)',
      ['--tls-cert', CERT, '--tls-key', KEY, '--tls-client-ca', KEY],
      `--tls-client-ca ${KEY} holds no PEM certificate`,
    ],
    [
      'a key that is not the certificate’s',
      ['--tls-cert', CERT, '--tls-key', fixture('client-key.pem')],
      `--tls-key ${fixture('client-key.pem')} is not the key of --tls-cert`,
    ],
  ])('refuses %s at start: exit 2, one line naming the flag', async (_what, args, message) => {
    const leader = cluster().spawn('leader', ['leader', '--listen', '127.0.0.1:0', ...args]);
    const { code } = await leader.exited;
    expect({ code, lines: leader.raw }).toEqual({
      code: 2,
      lines: [`[stderr] drover: ${message}`],
    });
  });

  it('a worker refuses TLS files it cannot use: exit 2, one line naming the flag', async () => {
    const worker = cluster().spawn('worker', [
      'worker',
      '--leader',
      '127.0.0.1:1',
      '--tls-ca',
      CA,
      '--tls-cert',
      fixture('client.pem'),
      '--tls-key',
      KEY,
    ]);
    const { code } = await worker.exited;
    expect({ code, lines: worker.raw }).toEqual({
      code: 2,
      lines: [`[stderr] drover: --tls-key ${KEY} is not the key of --tls-cert`],
    });
  });
});
