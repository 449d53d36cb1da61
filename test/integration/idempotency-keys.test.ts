import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

/** A POST written out by hand, so headers go on the wire exactly as given. */
function rawPost(
  base: string,
  path: string,
  headers: string[],
  body: string,
  /** How the request's text becomes bytes: latin1 sends a header byte that is not UTF-8. */
  encoding: BufferEncoding = 'utf8',
): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const text = [
        `POST ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        ...headers,
        '',
        body,
      ].join('\r\n');
      socket.write(Buffer.from(text, encoding));
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

// Idempotency keys (issue #18) on a real leader, through clients that share no code with
// drover: the strict Python gRPC client, fetch with its default headers, and the CLI.

describe('idempotency keys', () => {
  const { cluster } = useCluster();

  it('ScheduleTask and ScheduleTasks over a strict gRPC client: existing: true, nothing new', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const schedule = (task: object) =>
      pyJson([
        '-d',
        JSON.stringify({ task }),
        address,
        'scheduler.v1.SchedulerService/ScheduleTask',
      ]) as Promise<{ id: string; existing?: boolean }>;
    expect(await schedule({ id: 'a', payload: '1', idempotencyKey: 'order-7' })).toEqual({
      id: 'a',
    });
    // Proto JSON leaves out false: the first answer has no `existing`.
    expect(await schedule({ id: 'b', payload: '2', idempotencyKey: 'order-7' })).toEqual({
      id: 'a',
      existing: true,
    });
    const batch = (await pyJson([
      '-d',
      JSON.stringify({
        tasks: [
          { id: 'c', payload: '3', idempotencyKey: 'order-7' },
          { id: 'd', payload: '4', idempotencyKey: 'order-8', idempotencyTtlMs: '60000' },
        ],
      }),
      address,
      'scheduler.v1.SchedulerService/ScheduleTasks',
    ])) as { ids: string[]; existing: boolean[] };
    expect(batch).toEqual({ ids: ['a', 'd'], existing: [true, false] });
    const listed = (await pyJson([
      '-d',
      '{}',
      address,
      'scheduler.v1.SchedulerService/GetTasks',
    ])) as {
      tasks: { id: string; idempotencyKey?: string; idempotencyTtlMs?: string }[];
    };
    expect(listed.tasks.map((t) => [t.id, t.idempotencyKey, t.idempotencyTtlMs])).toEqual([
      ['a', 'order-7', undefined],
      ['d', 'order-8', '60000'],
    ]);
    await expect(schedule({ id: 'e', payload: '1', idempotencyKey: 'has space' })).rejects.toThrow(
      /INVALID_ARGUMENT[\s\S]*whitespace|InvalidArgument/,
    );
  });

  it('HTTP: the body field or the Idempotency-Key header; a repeat is 200 with existing: true', async () => {
    const { http } = await cluster().startLeader();
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${http}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const first = await post({ id: 'h1', payload: '1' }, { 'Idempotency-Key': 'pay-1' });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ id: 'h1' });
    const repeat = await post({ payload: '1', idempotency_key: 'pay-1' });
    expect(repeat.status).toBe(200);
    expect(repeat.headers.get('location')).toBe('/v1/tasks/h1');
    expect(await repeat.json()).toEqual({ id: 'h1', existing: true });
    const clash = await post(
      { payload: '1', idempotencyKey: 'pay-2' },
      { 'Idempotency-Key': 'pay-3' },
    );
    expect(clash.status).toBe(400);
    expect(((await clash.json()) as { error: string }).error).toMatch(/differ/);
    const noKey = await post({ payload: '1', idempotency_ttl_ms: 1000 });
    expect(noKey.status).toBe(400);
    expect(((await noKey.json()) as { error: string }).error).toMatch(/needs an idempotency_key/);
    // The IETF draft's form is a quoted string: the same key as the bare one.
    const quoted = await post({ payload: '1' }, { 'Idempotency-Key': '"pay-1"' });
    expect(await quoted.json()).toEqual({ id: 'h1', existing: true });
    const empty = await post({ payload: '1' }, { 'Idempotency-Key': '' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toMatch(/header is empty/);
    // Sent twice on the wire (fetch would join them): refused, not joined into one key.
    const twice = await rawPost(
      http,
      '/v1/tasks',
      ['Idempotency-Key: a', 'Idempotency-Key: b'],
      '{"payload":"1"}',
    );
    expect(twice).toMatch(/^HTTP\/1\.1 400[\s\S]*sent 2 times/);
    // A key beyond ASCII in the header, as UTF-8 on the wire (curl sends the bytes typed):
    // the same key as in a JSON body, not its bytes read one by one as latin1.
    const utf8 = await rawPost(
      http,
      '/v1/tasks',
      ['Idempotency-Key: café'],
      '{"id":"h2","payload":"1"}',
    );
    expect(utf8).toMatch(/^HTTP\/1\.1 201/);
    expect(await (await post({ payload: '1', idempotencyKey: 'café' })).json()).toEqual({
      id: 'h2',
      existing: true,
    });
    const latin1 = await rawPost(
      http,
      '/v1/tasks',
      ['Idempotency-Key: caf\u00e9!'],
      '{"payload":"1"}',
      'latin1',
    );
    expect(latin1).toMatch(/^HTTP\/1\.1 400[\s\S]*header is not valid UTF-8/);
    const all = (await (await fetch(`${http}/v1/tasks`)).json()) as { tasks: { id: string }[] };
    expect(all.tasks.map((t) => t.id)).toEqual(['h1', 'h2']);
  });

  it('CLI: --idempotency-key prints the first id again, and says so on stderr', async () => {
    const { address } = await cluster().startLeader();
    const leader = ['--leader', address];
    const first = await drover('schedule', ...leader, '--idempotency-key', 'nightly-1', '1');
    expect(first.code).toBe(0);
    const id = first.stdout.trim();
    const again = await drover('schedule', ...leader, '--idempotency-key', 'nightly-1', '2');
    expect(again).toMatchObject({ code: 0, stdout: `${id}\n` });
    expect(again.stderr).toMatch(/already holds idempotency key "nightly-1"/);
    const json = await drover(
      'schedule',
      ...leader,
      '--json',
      '--idempotency-key',
      'nightly-1',
      '--idempotency-ttl',
      '1h',
      '3',
    );
    expect(JSON.parse(json.stdout)).toEqual({ id, existing: true });
    const bad = await drover('schedule', ...leader, '--idempotency-ttl', 'soon', '1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected a duration/);
    const noKey = await drover('schedule', ...leader, '--idempotency-ttl', '1h', '1');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--idempotency-ttl needs --idempotency-key/);
  });
});
