import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// The HTTP JSON API, driven with a real HTTP client (fetch) against a real leader.

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  init: { raw?: string; contentType?: string } = {},
): Promise<Answer> {
  const text = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(`${base}${path}`, {
    method,
    headers: text === undefined ? {} : { 'content-type': init.contentType ?? 'application/json' },
    body: text,
    signal: AbortSignal.timeout(5000),
  });
  const raw = await response.text();
  return {
    status: response.status,
    body: raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>),
    headers: response.headers,
  };
}

/** Runs the real curl with its default headers; the body must be JSON (or empty). */
function curl(args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', ...args],
      { timeout: 10_000 },
      (err, stdout) => {
        if (err) return reject(err);
        const cut = stdout.lastIndexOf('\n');
        const text = stdout.slice(0, cut);
        const status = Number(stdout.slice(cut + 1));
        const json =
          text.trim() === '' || args.includes('-I')
            ? {}
            : (JSON.parse(text) as Record<string, unknown>);
        resolve({ status, body: json });
      },
    );
  });
}

/** A gauge's value on the leader's /metrics page (undefined when it is not there). */
async function metric(base: string, name: string): Promise<number | undefined> {
  const page = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = page.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('HTTP API', () => {
  const { cluster } = useCluster();

  it('schedules, gets, lists with filters and pages, cancels and deletes tasks', async () => {
    const { http: base } = await cluster().startLeader(['--store', 'memory']);
    const created = await http(base, 'POST', '/v1/tasks', {
      id: 'a',
      payload: '1',
      priority: 'TASK_PRIORITY_HIGH',
      maxAttempts: 2,
    });
    expect(created).toMatchObject({ status: 201, body: { id: 'a' } });
    expect(created.headers.get('location')).toBe('/v1/tasks/a');
    // snake_case names are the proto's own and are accepted too; the id may be left out.
    const made = await http(base, 'POST', '/v1/tasks', { payload: '2', target_member_id: 'w9' });
    expect(made.status).toBe(201);
    const madeId = String(made.body['id']);

    const a = await http(base, 'GET', '/v1/tasks/a');
    expect(a).toMatchObject({
      status: 200,
      body: {
        id: 'a',
        payload: '1',
        priority: 'TASK_PRIORITY_HIGH',
        status: 'TASK_STATUS_PENDING',
        kind: 'default',
        maxAttempts: 2,
      },
    });
    expect(Date.parse(String(a.body['createdAt']))).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++)
      await http(base, 'POST', '/v1/tasks', { id: `p${i}`, payload: 'x' });
    const page1 = await http(base, 'GET', '/v1/tasks?pageSize=2');
    expect((page1.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['a', madeId]);
    const page2 = await http(
      base,
      'GET',
      `/v1/tasks?pageSize=2&pageToken=${String(page1.body['nextPageToken'])}`,
    );
    expect((page2.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['p0', 'p1']);

    const cancelled = await http(base, 'POST', '/v1/tasks/p1:cancel');
    expect(cancelled).toMatchObject({
      status: 200,
      body: { id: 'p1', status: 'TASK_STATUS_CANCELLED', stopSent: false, alreadyCancelled: false },
    });
    // A repeated cancel (a retry after a timeout) says it changed nothing.
    expect(await http(base, 'POST', '/v1/tasks/p1:cancel')).toMatchObject({
      status: 200,
      body: { id: 'p1', status: 'TASK_STATUS_CANCELLED', alreadyCancelled: true },
    });
    const onlyCancelled = await http(base, 'GET', '/v1/tasks?status=cancelled');
    expect((onlyCancelled.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['p1']);
    const byEnum = await http(base, 'GET', '/v1/tasks?status=TASK_STATUS_CANCELLED');
    expect(byEnum.body['tasks']).toEqual(onlyCancelled.body['tasks']);
    // US spelling, and the proto's snake_case names for query parameters, as for bodies.
    const canceled = await http(base, 'GET', '/v1/tasks?status=canceled&page_size=5');
    expect(canceled.body['tasks']).toEqual(onlyCancelled.body['tasks']);
    const snakeFirst = await http(base, 'GET', '/v1/tasks?newest_first=true&page_size=1');
    expect((snakeFirst.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['p2']);

    // DELETE forgets a finished task; an open one must be cancelled first.
    expect(await http(base, 'DELETE', '/v1/tasks/p0')).toMatchObject({
      status: 409,
      body: { error: 'task p0 is pending; cancel it before deleting it' },
    });
    expect(await http(base, 'DELETE', '/v1/tasks/p1')).toMatchObject({
      status: 200,
      body: { id: 'p1' },
    });
    expect(await http(base, 'GET', '/v1/tasks/p1')).toMatchObject({
      status: 404,
      body: { error: 'task p1 not found' },
    });
    // Ids may hold colons: the last ':' starts the verb.
    await http(base, 'POST', '/v1/tasks', { id: 'invoice:42', payload: 'x' });
    expect(await http(base, 'POST', '/v1/tasks/invoice:42:cancel')).toMatchObject({
      status: 200,
      body: { id: 'invoice:42', status: 'TASK_STATUS_CANCELLED' },
    });
  });

  it('answers bad requests with a clear error and the right status, changing nothing', async () => {
    const { http: base } = await cluster().startLeader([
      '--store',
      'memory',
      '--max-payload-bytes',
      '1024',
    ]);
    await http(base, 'POST', '/v1/tasks', { id: 'x', payload: '1' });
    const cases: [
      string,
      string,
      unknown,
      { raw?: string; contentType?: string },
      number,
      RegExp,
    ][] = [
      ['POST', '/v1/tasks', undefined, { raw: '{"payload": ' }, 400, /not valid JSON/],
      ['POST', '/v1/tasks', { payload: 5 }, {}, 400, /field "payload" must be string/],
      ['POST', '/v1/tasks', { payload: '1', maxAttempts: '3' }, {}, 400, /maxAttempts/],
      ['POST', '/v1/tasks', { payload: '1', colour: 'red' }, {}, 400, /unknown field "colour"/],
      ['POST', '/v1/tasks', {}, {}, 400, /missing field "payload"/],
      ['POST', '/v1/tasks', { payload: '' }, {}, 400, /payload must not be empty/],
      ['POST', '/v1/tasks', { payload: '1', priority: 'URGENT' }, {}, 400, /priority/],
      ['POST', '/v1/tasks', { id: 'x', payload: '1' }, {}, 409, /task x already exists/],
      ['POST', '/v1/tasks', { payload: 'é'.repeat(600) }, {}, 413, /1200 bytes; the limit is 1024/],
      ['POST', '/v1/tasks', { payload: 'a'.repeat(200_000) }, {}, 413, /larger than the limit/],
      [
        'POST',
        '/v1/tasks',
        undefined,
        { raw: 'payload=1', contentType: 'text/plain' },
        415,
        /JSON/,
      ],
      ['GET', '/v1/tasks?pageSize=abc', undefined, {}, 400, /pageSize/],
      [
        'GET',
        '/v1/tasks?pageSize=5000',
        undefined,
        {},
        400,
        /page_size 5000 is over the most, 1000/,
      ],
      ['GET', '/v1/tasks?status=done', undefined, {}, 400, /unknown task status/],
      ['GET', '/v1/tasks?colour=red', undefined, {}, 400, /unknown field "colour"/],
      ['GET', '/v1/tasks/nope', undefined, {}, 404, /task nope not found/],
      ['POST', '/v1/tasks/nope:cancel', undefined, {}, 404, /task nope not found/],
      ['GET', '/v2/tasks', undefined, {}, 404, /no route GET \/v2\/tasks/],
      [
        'PUT',
        '/v1/tasks',
        undefined,
        {},
        405,
        /method PUT is not allowed on \/v1\/tasks; use GET or POST/,
      ],
      ['PATCH', '/v1/tasks/x', undefined, {}, 405, /use GET or DELETE/],
      ['POST', '/v1/members/ghost:drain', undefined, {}, 404, /member ghost not found/],
      [
        'POST',
        '/v1/tasks/x:frobnicate',
        undefined,
        {},
        404,
        /unknown action "frobnicate" on \/v1\/tasks\/x; POST takes :cancel, :retry/,
      ],
      ['GET', '/v1/tasks:tail', undefined, {}, 404, /unknown action "tail" .* GET takes :watch/],
      ['POST', '/v1/tasks', undefined, { raw: '' }, 400, /request body is empty; send a JSON/],
    ];
    for (const [method, path, body, init, status, error] of cases) {
      const answer = await http(base, method, path, body, init);
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
      expect(String(answer.body['error'])).toMatch(error);
    }
    expect((await http(base, 'PUT', '/v1/tasks')).headers.get('allow')).toBe('GET, POST');
    // A route that takes no body takes an empty one with a JSON content type, as curl
    // sends it with -H but no -d.
    const json = ['-X', 'POST', '-H', 'content-type: application/json'];
    await http(base, 'POST', '/v1/tasks', { id: 'later', payload: '1', delayMs: 600_000 });
    expect(await curl([...json, `${base}/v1/tasks/later:cancel`])).toMatchObject({
      status: 200,
      body: { id: 'later', status: 'TASK_STATUS_CANCELLED' },
    });
    expect((await curl(['-X', 'DELETE', ...json.slice(2), `${base}/v1/tasks/later`])).status).toBe(
      200,
    );
    // A body sent to a route that takes none is refused, not ignored: nothing is paused.
    expect(await curl([...json, '-d', '{"bogus":1}', `${base}/v1/kinds/zz:pause`])).toMatchObject({
      status: 400,
      body: { error: 'POST /v1/kinds/zz:pause takes no body; send none (or {})' },
    });
    expect((await http(base, 'GET', '/v1/pauses')).body).toEqual({ pauses: [] });
    expect((await curl([...json, '-d', '{}', `${base}/v1/kinds/zz:pause`])).status).toBe(200);
    expect((await curl([...json, `${base}/v1/kinds/zz:resume`])).status).toBe(200);
    // Nothing but the first task was made.
    const all = await http(base, 'GET', '/v1/tasks');
    expect((all.body['tasks'] as { id: string }[]).map((t) => t.id)).toEqual(['x']);
  });

  it('takes 64-bit integers as strings of digits too, as the proto JSON mapping (and grpcurl) writes them', async () => {
    const { http: base } = await cluster().startLeader(['--store', 'memory']);
    const json = ['-H', 'content-type: application/json'];
    const delayed = await curl([
      ...json,
      '-d',
      '{"id":"d1","payload":"1","delay_ms":"60000"}',
      `${base}/v1/tasks`,
    ]);
    expect(delayed).toEqual({ status: 201, body: { id: 'd1' } });
    expect((await http(base, 'GET', '/v1/tasks/d1')).body).toMatchObject({
      status: 'TASK_STATUS_SCHEDULED',
    });
    const keyed = await curl([
      ...json,
      '-d',
      '{"payload":"1","idempotencyKey":"k","idempotencyTtlMs":"60000"}',
      `${base}/v1/tasks`,
    ]);
    expect(keyed.status).toBe(201);
    const limit = await curl([
      ...json,
      '-X',
      'PUT',
      '-d',
      '{"rateCount":5,"rateIntervalMs":"60000"}',
      `${base}/v1/limits/keys/k9`,
    ]);
    expect(limit).toEqual({
      status: 200,
      body: { limit: { key: 'k9', rateCount: 5, rateIntervalMs: 60000, rateBurst: 1 } },
    });
    // Out of range or not digits: refused as a number would be.
    const far = await curl([
      ...json,
      '-d',
      '{"payload":"1","delayMs":"99999999999999"}',
      `${base}/v1/tasks`,
    ]);
    expect(far).toEqual({
      status: 400,
      body: { error: 'delay_ms must be a whole number from 0 to 31622400000 (366 days)' },
    });
    const notDigits = await curl([
      ...json,
      '-d',
      '{"payload":"1","delayMs":"5e3"}',
      `${base}/v1/tasks`,
    ]);
    expect(notDigits.status).toBe(400);
  });

  it('answers GET /v1/tasks/ID?wait= once the task ends, or as it is when the wait passes', async () => {
    const { address, http: base } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w1');
    const status = (answer: Answer) => answer.body['status'];
    // Ends while the request waits: answered with its result.
    await http(base, 'POST', '/v1/tasks', { id: 'quick', payload: '300' });
    const quick = await http(base, 'GET', '/v1/tasks/quick?wait=4s');
    expect(quick.status).toBe(200);
    expect(quick.body).toMatchObject({ status: 'TASK_STATUS_COMPLETED', result: 'worked 300 ms' });
    // No worker runs kind `none`: the wait passes and the task comes back as it is.
    await http(base, 'POST', '/v1/tasks', { id: 'stuck', payload: '1', kind: 'none' });
    expect(status(await http(base, 'GET', '/v1/tasks/stuck?wait=200ms'))).toBe(
      'TASK_STATUS_PENDING',
    );
    // A cancel ends it: a waiting request (curl, its default headers) is answered at once.
    const waiting = curl([`${base}/v1/tasks/stuck?wait=4s`]);
    await waitFor(async () => (await metric(base, 'drover_watch_subscribers')) === 1, {
      timeoutMs: 4000,
      what: 'the wait to hold a watch',
    });
    await http(base, 'POST', '/v1/tasks/stuck:cancel');
    expect(await waiting).toMatchObject({
      status: 200,
      body: { id: 'stuck', status: 'TASK_STATUS_CANCELLED' },
    });
    // A client that goes away frees its watch.
    await http(base, 'POST', '/v1/tasks', { id: 'left', payload: '1', kind: 'none' });
    const gone = fetch(`${base}/v1/tasks/left?wait=1m`, { signal: AbortSignal.timeout(300) });
    await expect(gone).rejects.toThrow();
    await waitFor(async () => (await metric(base, 'drover_watch_subscribers')) === 0, {
      timeoutMs: 4000,
      what: 'the watch of a request whose client left to close',
    });
    for (const [path, error] of [
      ['/v1/tasks/left?wait=10', /wait: expected a duration such as 30s/],
      ['/v1/tasks/left?wait=6m', /wait: "6m" is more than 5m, the most allowed/],
      ['/v1/tasks/nope?wait=1s', /task nope not found/],
    ] as const) {
      const answer = await http(base, 'GET', path);
      expect({ path, status: answer.status }).toEqual({
        path,
        status: path.includes('nope') ? 404 : 400,
      });
      expect(String(answer.body['error'])).toMatch(error);
    }
  });

  it('lists members, drains one, and serves health, readiness and an OpenAPI document', async () => {
    const { address, http: base } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'w1', ['--allow-command', 'echo']);
    await waitFor(
      async () =>
        ((await http(base, 'GET', '/v1/members')).body['members'] as { status: string }[])[0]
          ?.status === 'alive',
      { timeoutMs: 5000, what: 'w1 alive' },
    );
    const members = await http(base, 'GET', '/v1/members');
    expect(members.body['members']).toMatchObject([
      { id: 'w1', status: 'alive', slotsTotal: 4, slotsFree: 4, allowedCommands: ['echo'] },
    ]);
    expect(await http(base, 'POST', '/v1/members/w1:drain')).toMatchObject({
      status: 200,
      body: { id: 'w1', status: 'draining', statusReason: 'drained by an operator' },
    });
    expect(await http(base, 'GET', '/healthz')).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await http(base, 'GET', '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready' },
    });
    // No tokens: every caller may do everything.
    expect(await curl([`${base}/v1/whoami`])).toEqual({
      status: 200,
      body: { role: 'admin', name: '', tokens: false },
    });
    const openapi = await http(base, 'GET', '/openapi.json');
    expect(openapi.body['openapi']).toMatch(/^3\./);
    const paths = Object.keys(openapi.body['paths'] as object);
    for (const path of [
      '/v1/tasks',
      '/v1/tasks/{id}',
      '/v1/members',
      '/healthz',
      '/readyz',
      '/start',
      '/stop',
      '/query',
      '/start-job',
      '/status/{id}',
      '/v1/pauses',
      '/v1/whoami',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it("runs the seed routes with the seeds' own curl commands (curl's default headers)", async () => {
    const { address, http: base } = await cluster().startLeader(['--store', 'memory']);
    await cluster().startWorker(address, 'cmd', [
      '--allow-command',
      'echo',
      '--allow-command',
      'sleep',
    ]);
    await cluster().startWorker(address, 'plain');

    // Koray Gocmen's documented call: curl -X POST -d '{...}' host/start. curl sends
    // content-type application/x-www-form-urlencoded; his server reads JSON regardless.
    const started = await curl([
      '-X',
      'POST',
      '-d',
      '{"worker_id":"cmd","command":"echo","path":"hello.sh"}',
      `${base}/start`,
    ]);
    expect(started.status).toBe(201);
    const jobId = String(started.body['job_id']);
    const done = await waitFor(
      async () => {
        const answer = await curl([
          '-X',
          'POST',
          '-d',
          JSON.stringify({ worker_id: 'cmd', job_id: jobId }),
          `${base}/query`,
        ]);
        return answer.body['done'] === true && answer.body;
      },
      { timeoutMs: 5000, what: 'job done' },
    );
    expect(done).toMatchObject({ done: true, error: false, error_text: '', status: 'completed' });
    expect(JSON.parse(String(done['output']))).toMatchObject({ exitCode: 0, stdout: 'hello.sh\n' });

    // A command the worker does not allow-list is refused up front; nothing is queued.
    expect(
      await curl([
        '-X',
        'POST',
        '-d',
        '{"worker_id":"plain","command":"echo","path":"x"}',
        `${base}/start`,
      ]),
    ).toMatchObject({
      status: 409,
      body: { error: 'worker plain does not allow-list command "echo" (allowed: none)' },
    });
    expect(
      await curl(['-X', 'POST', '-d', '{"worker_id":"nobody","command":"echo"}', `${base}/start`]),
    ).toMatchObject({
      status: 404,
      body: { error: 'worker nobody is not a live member of the cluster' },
    });
    expect(await curl(['-X', 'POST', '-d', '{"worker_id":"cmd"}', `${base}/start`])).toMatchObject({
      status: 400,
      body: { error: 'body: missing field "command"' },
    });
    // A form body is not JSON: a clear 400, nothing started.
    expect(
      await curl(['-X', 'POST', '-d', 'worker_id=cmd&command=echo', `${base}/start`]),
    ).toMatchObject({
      status: 400,
      body: { error: 'request body is not valid JSON' },
    });

    // Arguments are text like every field: a lone surrogate would reach the command as U+FFFD.
    expect(
      await curl([
        '-X',
        'POST',
        '-d',
        '{"worker_id":"cmd","command":"echo","path":"\\ud800"}',
        `${base}/start`,
      ]),
    ).toMatchObject({
      status: 400,
      body: {
        error:
          'argument 1 is not valid Unicode text (it holds a lone UTF-16 surrogate, which UTF-8 cannot encode)',
      },
    });
    // A drained worker takes no new work: a job pinned to it is refused, not left pending.
    expect((await curl(['-X', 'POST', `${base}/v1/members/plain:drain`])).status).toBe(200);
    expect(
      await curl(['-X', 'POST', '-d', '{"worker_id":"plain","command":"echo"}', `${base}/start`]),
    ).toMatchObject({
      status: 409,
      body: { error: 'worker plain is draining; it takes no new work' },
    });

    const long = await curl([
      '-X',
      'POST',
      '-d',
      '{"worker_id":"cmd","command":"sleep","path":"30"}',
      `${base}/start`,
    ]);
    const longId = String(long.body['job_id']);
    const stopOn = (worker: string) =>
      curl([
        '-X',
        'POST',
        '-d',
        JSON.stringify({ worker_id: worker, job_id: longId }),
        `${base}/stop`,
      ]);
    expect(await stopOn('plain')).toMatchObject({
      status: 404,
      body: { error: `job ${longId} was not started on worker plain` },
    });
    // The seed's answer is {"success": true}; drover adds the job and its state.
    expect(await stopOn('cmd')).toMatchObject({
      status: 200,
      body: { success: true, job_id: longId, status: 'cancelled' },
    });
    expect(
      await curl([
        '-X',
        'POST',
        '-d',
        JSON.stringify({ worker_id: 'cmd', job_id: longId }),
        `${base}/query`,
      ]),
    ).toMatchObject({
      body: { done: true, error: true, error_text: 'cancelled', status: 'cancelled' },
    });

    // The 2017 dispatcher: /start-job by any method, with no body at all, returns an id.
    const queued: string[] = [];
    for (const args of [
      [],
      ['-X', 'POST'],
      ['-X', 'PUT'],
      ['-X', 'DELETE'],
      ['-X', 'POST', '-d', '{"payload":"10"}'],
      ['-X', 'POST', '-H', 'content-type: text/plain', '-d', '{"payload":"10"}'],
    ]) {
      const answer = await curl([...args, `${base}/start-job`]);
      expect(answer, args.join(' ')).toMatchObject({
        status: 200,
        body: { id: expect.any(String) },
      });
      queued.push(String(answer.body['id']));
    }
    // HEAD (link checkers) and OPTIONS (CORS preflights) queue nothing.
    expect((await curl(['-I', `${base}/start-job`])).status).toBe(405);
    const statuses = await waitFor(
      async () => {
        const answers = await Promise.all(queued.map((id) => curl([`${base}/status/${id}`])));
        return answers.every((a) => a.body['status'] === 'completed') && answers.map((a) => a.body);
      },
      { timeoutMs: 10_000, what: 'jobs completed' },
    );
    expect(statuses[0]).toMatchObject({ id: queued[0], status: 'completed', attempt: 1 });
    expect(statuses[4]).toMatchObject({ status: 'completed', result: 'worked 10 ms' });
    expect((await curl([`${base}/status/nope`])).status).toBe(404);

    // The /v1 API keeps its strict rule: JSON with its content type only.
    expect(await curl(['-X', 'POST', '-d', '{"payload":"1"}', `${base}/v1/tasks`])).toMatchObject({
      status: 415,
      body: { error: 'send JSON with content-type: application/json' },
    });
  });

  it('is off with --no-http', async () => {
    const { process: leader } = await cluster().startLeader(['--store', 'memory', '--no-http']);
    expect(leader.linesWith('http listening')).toEqual([]);
  });
});
