import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipBrowser } from '../helpers/chromium.js';
import { useCluster } from '../helpers/use-cluster.js';

// Issue #20: an open leader on loopback (the default) must not be driven by a web page the
// machine's browser shows. A page on another site (or another port of the same host) tries
// what a hostile page would: an <img> on GET /start-job, a no-cors text/plain POST to the
// seed API's /start and to /v1/tasks, a form post. Debian's Chromium sends the requests; the
// leader must refuse them all. curl, with its default headers, keeps working.

const run = promisify(execFile);

/** curl with its default headers plus `args`; resolves with the status and body. */
async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args], {
    timeout: 10_000,
  });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

/** The hostile page: fires every request, then sets its title to "done". */
function hostilePage(leader: string): string {
  const seed = JSON.stringify({ worker_id: 'w1', command: 'echo', path: 'from-a-page' });
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${leader}/start-job" target="sink"><input name="x" value="1"></form>
<iframe name="sink"></iframe>
<script>
const img = (src) => new Promise((done) => { const i = new Image(); i.onload = i.onerror = done; i.src = src; });
const post = (path, body) => fetch('${leader}' + path, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body }).catch(() => {});
Promise.allSettled([
  img('${leader}/start-job'),
  post('/start', ${JSON.stringify(seed)}),
  post('/v1/tasks', '{"payload":"from-a-page"}'),
  new Promise((done) => { document.querySelector('iframe').onload = done; document.getElementById('f').submit(); }),
]).then(() => { document.title = 'done'; });
</script></body></html>`;
}

describe.skipIf(skipBrowser)('web pages cannot drive an open leader', () => {
  const { cluster } = useCluster();
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  it('refuses requests from another site or port, and a foreign Host; curl still works', async () => {
    const { address, http } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w1', ['--allow-command', 'echo']);
    let page = '';
    const site: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    try {
      const port = (site.address() as AddressInfo).port;
      // Another site (localhost vs 127.0.0.1), and the same host on another port.
      for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`]) {
        page = hostilePage(http);
        const tab = await browser.newPage();
        await tab.goto(`${origin}/`);
        await tab.waitForFunction('document.title === "done"', undefined, {
          timeout: 15_000,
        });
        await tab.close();
      }
    } finally {
      site.close();
    }
    const listed = await curl(`${http}/v1/tasks`);
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body)).toEqual({ tasks: [], nextPageToken: '' });

    // What a page's request carries, refused with 403 and why; nothing scheduled.
    const body = '{"payload":"x"}';
    for (const [header, why] of [
      ['Origin: http://evil.example', /only this leader's own pages may call it/],
      ['Origin: null', /only this leader's own pages may call it/],
      ['Sec-Fetch-Site: cross-site', /web pages cannot drive this leader/],
      ['Sec-Purpose: prefetch', /a prefetch is refused/],
      ['Referer: http://evil.example/page', /only this leader's own pages may call it/],
      ['Host: evil.example', /answers to localhost, 127.0.0.1 or \[::1\]/],
    ] as const) {
      const refused = await curl('-X', 'POST', `${http}/v1/tasks`, '-H', header, '-d', body);
      expect(refused.status, header).toBe(403);
      expect(JSON.parse(refused.body).error, header).toMatch(why);
    }
    expect(JSON.parse((await curl(`${http}/v1/tasks`)).body).tasks).toEqual([]);

    // curl with its defaults (form content type on -d, Host 127.0.0.1:port, no Origin):
    // the seed API's /start and the JSON API work as before; so do same-origin pages.
    const seed = '{"worker_id":"w1","command":"echo","path":"from-curl"}';
    expect((await curl('-X', 'POST', `${http}/start`, '-d', seed)).status).toBe(201);
    const own = await curl(
      '-X',
      'POST',
      `${http}/v1/tasks`,
      '-H',
      `Origin: ${http}`,
      '-H',
      'content-type: application/json',
      '-d',
      body,
    );
    expect(own.status).toBe(201);
    const localhost = http.replace('127.0.0.1', 'localhost');
    expect((await curl(`${localhost}/healthz`)).status).toBe(200);
    // The dashboard itself may be opened from a link on another site (reading it changes
    // nothing); the same link to a route that acts is refused.
    const fromLink = ['-H', 'Sec-Fetch-Site: cross-site', '-H', 'Referer: http://wiki.example/'];
    expect((await curl(...fromLink, `${http}/`)).status).toBe(200);
    expect((await curl(...fromLink, `${http}/start-job`)).status).toBe(403);

    // A reverse proxy in front passes its own name: allowed by --http-allowed-host only.
    const proxied = await cluster().startLeader(
      ['--store', 'memory', '--http-allowed-host', 'drover.internal'],
      'proxied',
    );
    const asProxy = (name: string) => curl('-H', `Host: ${name}`, `${proxied.http}/healthz`);
    expect((await asProxy('drover.internal')).status).toBe(200);
    expect((await asProxy('DROVER.internal:443')).status).toBe(200);
    expect((await asProxy('other.internal')).status).toBe(403);
    // A name with a scheme or port could never match a Host: refused at start.
    const wrong = cluster().spawn('wrong', [
      ...['leader', '--store', 'memory', '--listen', '127.0.0.1:0'],
      ...['--http-allowed-host', 'https://drover.internal:443'],
    ]);
    expect((await wrong.exited).code).toBe(2);
    expect(wrong.raw.join('\n')).toMatch(/give a bare host name, without scheme or port/);
  });
});
