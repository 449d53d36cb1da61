import { execFile } from 'node:child_process';
import { status, type ServiceError } from '@grpc/grpc-js';
import { HeartbeatStatus } from '../../src/gen/cluster/v1/leader.js';
import { describe, expect, it } from 'vitest';
import { grpcError, TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Regression tests for the adversarial pass's findings (issue #14) on the leader's side:
// each bad input is refused with a clear 4xx / INVALID_ARGUMENT and changes nothing.

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A request whose body is sent exactly as given (bytes or text), as a hostile client would. */
async function send(
  base: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : headers,
    body,
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

/** The real curl, for what fetch will not send (HEAD on a stream, huge headers). */
function curl(args: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', ...args],
      { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return reject(err);
        const cut = stdout.lastIndexOf('\n');
        resolve({ status: Number(stdout.slice(cut + 1)), text: stdout.slice(0, cut) });
      },
    );
  });
}

describe('hostile input to the leader', () => {
  const { cluster, clients } = useCluster();

  it('refuses lone surrogates in ids and payloads (400), and restarts with everything it acknowledged', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const raw = (text: string) => send(first.http, 'POST', '/v1/tasks', text);
    for (const [body, field] of [
      ['{"id":"sur\\ud800","payload":"x"}', 'task id'],
      ['{"id":"sur\\udc00","payload":"x"}', 'task id'],
      ['{"payload":"\\ud800"}', 'task payload'],
      ['{"payload":"ok","targetMemberId":"w\\udfff"}', 'target member id'],
    ] as const) {
      expect(await raw(body)).toEqual({
        status: 400,
        body: {
          error: `${field} is not valid Unicode text (it holds a lone UTF-16 surrogate, which UTF-8 cannot encode)`,
        },
      });
    }
    // A well-formed pair and U+FFFD itself are text, and come back exactly.
    expect(
      (await raw('{"id":"pair-\\ud83d\\ude00","payload":"\\ufffd \\ud83d\\ude00"}')).status,
    ).toBe(201);
    first.process.kill('SIGTERM');
    expect((await first.process.exited).code).toBe(0);

    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    const list = await send(second.http, 'GET', '/v1/tasks');
    expect(list.body['tasks']).toEqual([
      expect.objectContaining({ id: 'pair-😀', payload: '\ufffd 😀' }),
    ]);
  });

  it('reads a body exactly: invalid UTF-8, a key twice, two spellings of a field, __proto__ are 400', async () => {
    const { http } = await cluster().startLeader(['--store', 'memory']);
    const cases: [string | Uint8Array, string][] = [
      [
        Uint8Array.from([...Buffer.from('{"payload":"'), 0xff, ...Buffer.from('"}')]),
        'request body is not valid UTF-8',
      ],
      ['{"payload":"a","payload":"b"}', 'request body has the key "payload" more than once'],
      ['{"payload":"a","\\u0070ayload":"b"}', 'request body has the key "payload" more than once'],
      [
        '{"payload":"a","maxAttempts":2,"max_attempts":3}',
        'body: "maxAttempts" and "max_attempts" are the same field; send one of them',
      ],
      [
        '{"payload":"a","__proto__":{"x":1}}',
        'request body has a "__proto__" key, which is not allowed',
      ],
      ['{"payload": ', 'request body is not valid JSON'],
    ];
    for (const [body, error] of cases) {
      expect(await send(http, 'POST', '/v1/tasks', body)).toEqual({ status: 400, body: { error } });
    }
    // The same rules on the seed routes, whatever the content type.
    expect(
      await send(http, 'POST', '/start-job', '{"payload":"a","payload":"b"}', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    ).toEqual({
      status: 400,
      body: { error: 'request body has the key "payload" more than once' },
    });
    expect((await send(http, 'GET', '/v1/tasks')).body).toEqual({ tasks: [], nextPageToken: '' });
  });

  it('applies the payload limit to the payload, however JSON spells it', async () => {
    const { http } = await cluster().startLeader(['--store', 'memory']);
    // 300k CJK characters: 900 KB of UTF-8, under the 1 MiB limit; escaped, 1.8 MB of JSON.
    const payload = '你'.repeat(300_000);
    const escaped = `{"payload":"${'\\u4f60'.repeat(300_000)}"}`;
    expect(escaped.length).toBeGreaterThan(1_800_000);
    const created = await send(http, 'POST', '/v1/tasks', escaped);
    expect(created.status).toBe(201);
    const task = await send(http, 'GET', `/v1/tasks/${String(created.body['id'])}`);
    expect(task.body['payload']).toBe(payload);
    // Over the limit is still over, in either spelling: a 413 that names the bytes.
    const over = await send(
      http,
      'POST',
      '/v1/tasks',
      `{"payload":"${'\\u4f60'.repeat(400_000)}"}`,
    );
    expect(over).toEqual({
      status: 413,
      body: { error: 'task payload is 1200000 bytes; the limit is 1048576' },
    });
  });

  it('routes ids with a slash, and answers HEAD, bad URLs, huge headers and bad filters in one shape', async () => {
    const { http } = await cluster().startLeader(['--store', 'memory']);
    const created = await send(http, 'POST', '/v1/tasks', '{"id":"a/b","payload":"1"}');
    expect(created.status).toBe(201);
    const cancelled = await send(http, 'POST', '/v1/tasks/a%2Fb:cancel');
    expect(cancelled).toMatchObject({
      status: 200,
      body: { id: 'a/b', status: 'TASK_STATUS_CANCELLED' },
    });

    const head = await curl(['-I', `${http}/v1/tasks:watch`]);
    expect(head.status).toBe(405);
    expect(await curl([`${http}/v1/tasks/%zz`])).toEqual({
      status: 400,
      text: JSON.stringify({ error: 'the URL is not valid (a bad percent-encoding?)' }),
    });
    expect(await curl(['-H', `x-big: ${'a'.repeat(20_000)}`, `${http}/v1/tasks`])).toEqual({
      status: 431,
      text: JSON.stringify({ error: 'the request headers are too large' }),
    });
    expect(await curl([`${http}/v1/tasks/${'a'.repeat(5000)}`])).toEqual({
      status: 414,
      text: JSON.stringify({ error: 'a path segment is longer than 4096 characters' }),
    });
    // Invalid UTF-8 in a query is refused, not read as U+FFFD (as a path segment is).
    for (const path of ['/v1/tasks?memberId=%FF', '/v1/tasks:watch?memberId=%FF']) {
      expect(await send(http, 'GET', path)).toEqual({
        status: 400,
        body: {
          error: 'query parameter "memberId" is not valid: its percent-encoding is not UTF-8',
        },
      });
    }
    expect(await send(http, 'GET', '/v1/tasks?status=0')).toEqual({
      status: 400,
      body: {
        error:
          'unknown task status "0": use scheduled, pending, running, completed, cancelled, error (or failed for error, or TASK_STATUS_PENDING and so on)',
      },
    });
  });

  it('bounds ids on every RPC, echoing at most a short prefix, and keeps the connection usable', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const c = clients(address);
    const huge = 'x'.repeat(200_000);
    const expected = `task id "${'x'.repeat(64)}..." is 200000 characters; the most is 256`;
    for (const call of [
      () => c.task(huge),
      () => c.cancel(huge),
      () => c.call(c.scheduler, c.scheduler.deleteTask, { id: huge }),
    ]) {
      const err = await grpcError(call());
      expect({ code: err.code, details: err.details }).toEqual({
        code: status.INVALID_ARGUMENT,
        details: expected,
      });
    }
    const drain = await grpcError(c.call(c.leader, c.leader.drain, { id: huge }));
    expect(drain.code).toBe(status.INVALID_ARGUMENT);
    expect(drain.details.length).toBeLessThan(200);
    // The same connection answers at once afterwards.
    expect(await c.members()).toEqual([]);
  });

  it('validates and bounds what a Join claims: ids, addresses, kinds, commands', async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const c = clients(address);
    const join = (fields: Record<string, unknown>) =>
      grpcError(
        c.call(c.leader, c.leader.join, {
          id: 'w',
          address: '',
          slots: 1,
          kinds: [],
          instance: 'i',
          allowedCommands: [],
          timedStarts: false,
          beganNotices: false,
          lossFenceMs: 0,
          resumed: false,
          ...fields,
        }),
      );
    const refusals: [Record<string, unknown>, RegExp][] = [
      [
        { id: 'm'.repeat(3_000_000) },
        /^member id "m{64}\.\.\." is 3000000 characters; the most is 256$/,
      ],
      [
        { id: 'nul\u0000id' },
        /^member id "nul\\u0000id" must not contain whitespace or control characters$/,
      ],
      [
        { id: 'new\nline' },
        /^member id "new\\nline" must not contain whitespace or control characters$/,
      ],
      [
        { kinds: Array.from({ length: 100_000 }, (_, i) => `k${i}`) },
        /^100000 kinds; the most is 256$/,
      ],
      [{ kinds: ['bad kind'] }, /^kind "bad kind" is not valid/],
      [{ address: 'a'.repeat(300) }, /^address "a{64}\.\.\." must be at most 256 characters/],
      [{ allowedCommands: ['rm\n'] }, /^allowed command "rm\\n" must be 1-4096 characters/],
    ];
    for (const [fields, message] of refusals) {
      const err = await join(fields);
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
    expect(await c.members()).toEqual([]);
  });

  it("refuses a heartbeat stream opened under a live worker's id by another process; nothing changes", async () => {
    const { address } = await cluster().startLeader(['--store', 'memory']);
    const worker = await cluster().startWorker(address, 'w1', ['--demo-default-ms', '600000']);
    const c = clients(address);
    const id = await c.schedule({ payload: 'long work' });
    await waitFor(async () => (await c.task(id)).status === TaskStatus.TASK_STATUS_RUNNING, {
      timeoutMs: 5_000,
      what: 'task running on w1',
    });

    for (const session of ['', 'a-guess']) {
      const forged = c.leader.heartbeat();
      const refused = new Promise<ServiceError>((resolve) => forged.on('error', resolve));
      forged.on('data', () => undefined);
      forged.write({
        id: 'w1',
        session,
        status: HeartbeatStatus.HEARTBEAT_STATUS_IDLE,
        freeSlots: 4,
        running: [],
        serial: 0,
        draining: false,
        finished: [
          { id, attempt: 1, result: 'forged', error: '', permanent: false, notStarted: false },
        ],
        statusReason: '',
        output: [],
        began: [],
      });
      const err = await refused;
      expect({ code: err.code, details: err.details }).toEqual({
        code: status.PERMISSION_DENIED,
        details:
          "this heartbeat stream does not carry the session member w1's Join returned; only the process that joined may open its stream",
      });
    }
    // Nothing changed: the task still runs on the real worker, whose stream was not replaced.
    expect(await c.task(id)).toMatchObject({
      status: TaskStatus.TASK_STATUS_RUNNING,
      result: undefined,
    });
    expect((await c.member('w1'))?.status).toBe('alive');
    expect(worker.linesWith('heartbeat stream closed')).toEqual([]);
  });
});
