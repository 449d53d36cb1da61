import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProducer } from '../../src/client/producer.js';
import { JoinRequest, LeaderServiceClient } from '../../src/gen/cluster/v1/leader.js';
import { SchedulerServiceClient, WatchTasksRequest } from '../../src/gen/scheduler/v1/scheduler.js';
import { RPC_NEEDS, ROUTE_NEEDS } from '../../src/leader/auth/permissions.js';
import { allows, ROLES, type Need, type Role } from '../../src/leader/auth/roles.js';
import { createToken, drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Issue #20: every RPC and every HTTP route against every role, on a real leader with a
// tokens file made by `drover token create`. A call either passes the check (whatever the
// handler then says of an empty request) or is refused with UNAUTHENTICATED / 401 (no or
// unknown token) or PERMISSION_DENIED / 403 (a role that may not), and a refused call
// changes nothing. The tables themselves are complete: the leader does not start with an
// RPC or route that has no role.

type Outcome = 'passed' | 'unauthenticated' | 'denied';

/** What the role's table entry says should happen. */
function expected(role: Role | undefined, need: Need): Outcome {
  if (need === 'public') return 'passed';
  if (role === undefined) return 'unauthenticated';
  return allows(role, need) ? 'passed' : 'denied';
}

/** Calls any method with an empty message; resolves with how the auth check went. */
function callRaw(client: Client, path: string, token: string | undefined): Promise<Outcome> {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const deadline = new Date(Date.now() + 3000);
  const serialize = (): Buffer => Buffer.alloc(0);
  const deserialize = (b: Buffer): Buffer => b;
  return new Promise((resolve) => {
    const settle = (err: Partial<ServiceError> | null): void => {
      if (err?.code === status.UNAUTHENTICATED) resolve('unauthenticated');
      // The check's own refusal names the role needed; a handler's (Leave without the
      // member's session, with tokens on) came after the check passed.
      else if (err?.code === status.PERMISSION_DENIED && / this needs /.test(err.details ?? '')) {
        resolve('denied');
      } else resolve('passed');
    };
    // Every shape as a bidi stream: one empty message, then half-close. A stream that
    // stays open (a watch) passed the check once it sends anything or stays up a moment.
    const call = client.makeBidiStreamRequest(path, serialize, deserialize, metadata, {
      deadline,
    });
    const timer = setTimeout(() => {
      call.cancel();
      resolve('passed');
    }, 1000);
    call.on('data', () => {
      clearTimeout(timer);
      call.cancel();
      resolve('passed');
    });
    call.on('error', (err: ServiceError) => {
      clearTimeout(timer);
      settle(err);
    });
    call.on('end', () => {
      clearTimeout(timer);
      settle(null);
    });
    call.write(Buffer.alloc(0));
    call.end();
  });
}

/** A route pattern with every parameter filled in (`/v1/tasks/:id(.+)::cancel` → `/v1/tasks/x:cancel`). */
function concrete(pattern: string): string {
  // `::` is a literal colon in Fastify's patterns; a single `:name` is a parameter.
  return pattern
    .split('::')
    .map((part) => part.replace(/:[a-z]+(\(\.\+\))?/g, 'x'))
    .join(':');
}

describe('tokens and roles', () => {
  const { cluster } = useCluster();

  it(
    'checks every RPC and every route against every role; refused calls change nothing',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'drover-tokens-'));
      const file = join(dir, 'tokens.json');
      const tokens = {} as Record<Role, string>;
      for (const role of ROLES) {
        const made = await drover('token', 'create', '--role', role, '--tokens-file', file);
        expect(made.code).toBe(0);
        tokens[role] = made.stdout.trim();
        expect(tokens[role]).toMatch(/^drv_[A-Za-z0-9_-]{43}$/);
      }
      const {
        address,
        http,
        process: leader,
      } = await cluster().startLeader(['--store', 'memory', '--tokens-file', file]);
      const client = new Client(address, credentials.createInsecure());
      const callers: [Role | undefined, string | undefined][] = [
        [undefined, undefined],
        [undefined, 'drv_not-a-token-this-leader-knows'],
        ...ROLES.map((role): [Role, string] => [role, tokens[role]]),
      ];
      const wrong: string[] = [];
      for (const [path, need] of Object.entries(RPC_NEEDS)) {
        for (const [role, token] of callers) {
          const outcome = await callRaw(client, path, token);
          const want = expected(role, need);
          if (outcome !== want)
            wrong.push(`${path} as ${role ?? token ?? 'nobody'}: ${outcome}, want ${want}`);
        }
      }
      client.close();

      for (const [key, need] of Object.entries(ROUTE_NEEDS)) {
        const [method, pattern] = key.split(' ') as [string, string];
        // Watches and followed output stay open: their check is all this needs to see.
        for (const [role, token] of callers) {
          const abort = new AbortController();
          const response = await fetch(`${http}${concrete(pattern)}`, {
            method,
            signal: abort.signal,
            headers: {
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
              ...(method === 'GET' || method === 'DELETE'
                ? {}
                : { 'content-type': 'application/json' }),
            },
            ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
          });
          abort.abort();
          const outcome: Outcome =
            response.status === 401
              ? 'unauthenticated'
              : response.status === 403
                ? 'denied'
                : 'passed';
          const want = expected(role, need);
          if (outcome !== want)
            wrong.push(`${key} as ${role ?? token ?? 'nobody'}: ${response.status}, want ${want}`);
          // RFC 6750: no credentials, just the scheme; a token it does not know, invalid_token.
          if (response.status === 403) {
            expect(response.headers.get('www-authenticate')).toBe(
              'Bearer realm="drover", error="insufficient_scope"',
            );
          }
          if (response.status === 401) {
            expect(response.headers.get('www-authenticate')).toBe(
              token === undefined
                ? 'Bearer realm="drover"'
                : 'Bearer realm="drover", error="invalid_token"',
            );
          }
        }
      }
      expect(wrong).toEqual([]);
      // /v1/whoami names each token's role: the dashboard offers only what it may do.
      for (const role of ['read', 'write', 'admin', 'worker'] as const) {
        const who = await fetch(`${http}/v1/whoami`, {
          headers: { authorization: `Bearer ${tokens[role]}` },
        });
        expect(await who.json()).toEqual({ role, name: `${role}-1`, tokens: true });
      }

      // Refused calls changed nothing: the only tasks are the demo jobs /start-job queued
      // for write and admin (five methods each; empty requests elsewhere were invalid).
      const tasks = await fetch(`${http}/v1/tasks`, {
        headers: { authorization: `Bearer ${tokens.read}` },
      });
      const listed = ((await tasks.json()) as { tasks: { payload: string }[] }).tasks;
      expect(listed.map((t) => t.payload)).toEqual(Array(10).fill('start-job'));
      // The tokens never reached the log.
      const log = leader.raw.join('\n');
      for (const token of Object.values(tokens)) expect(log).not.toContain(token);
      // Who changed what is in it, by token name; refusals too (at most 10 a second).
      const audit = leader.linesWith('call admitted');
      expect(audit).toContainEqual(
        expect.objectContaining({ who: 'admin-1', action: '/cluster.v1.LeaderService/Drain' }),
      );
      expect(audit).toContainEqual(
        expect.objectContaining({ who: 'write-1', action: 'DELETE /v1/tasks/:id' }),
      );
      expect(audit.every((l) => l['action'] !== '/scheduler.v1.SchedulerService/GetTasks')).toBe(
        true,
      );
      expect(leader.linesWith('call refused').length).toBeGreaterThan(0);
    },
  );

  it('lets the CLI, a worker and the SDK use their tokens; a worker without one exits with why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-tokens-'));
    const file = join(dir, 'tokens.json');
    const write = (
      await drover('token', 'create', '--role', 'write', '--name', 'ci', '--tokens-file', file)
    ).stdout.trim();
    const join_ = await createToken(file, 'worker');
    const listed = await drover('token', 'list', '--tokens-file', file, '--json');
    expect(JSON.parse(listed.stdout)).toEqual({
      tokens: [
        { name: 'ci', role: 'write' },
        { name: 'worker-1', role: 'worker' },
      ],
    });
    const { address } = await cluster().startLeader(['--store', 'memory', '--tokens-file', file]);
    await cluster().startWorker(address, 'w1', ['--token', join_]);
    const refused = cluster().spawn('w2', ['worker', '--leader', address, '--id', 'w2']);
    const { code } = await refused.exited;
    expect(code).not.toBe(0);
    expect(refused.raw.join('\n')).toMatch(/give it a join token/);

    const scheduled = await drover(
      'schedule',
      '--leader',
      address,
      '--token',
      write,
      '--kind',
      'demo',
      '--id',
      't1',
      '10',
    );
    expect(scheduled.code).toBe(0);
    const noToken = await drover('tasks', '--leader', address);
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toMatch(/needs a token.*UNAUTHENTICATED/);
    // The join token may not read the task list: it only joins.
    const asWorker = await drover('tasks', '--leader', address, '--token', join_);
    expect(asWorker.stderr).toMatch(/has role worker; this needs read \(PERMISSION_DENIED\)/);
    // The SDK producer sends its token; without one its schedule is refused.
    const producer = createProducer({ leader: address, token: write });
    expect(await producer.schedule({ id: 'from-sdk', payload: '1', kind: 'demo' })).toBe(
      'from-sdk',
    );
    await producer.close();
    const anonymous = createProducer({ leader: address });
    await expect(anonymous.schedule({ payload: '1' })).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    await anonymous.close();
    const revoked = await drover('token', 'revoke', 'ci', '--tokens-file', file);
    expect(revoked.code).toBe(0);
    expect((await drover('token', 'list', '--tokens-file', file)).stdout).not.toContain('ci');
  });

  it('reads its tokens file again when it changes (no restart), and refuses one others may write', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const kept = await createToken(file, 'read');
    const revoked = await createToken(file, 'read');
    const { http, process: leader } = await cluster().startLeader([
      '--store',
      'memory',
      '--tokens-file',
      file,
    ]);
    const whoami = async (token: string) =>
      (await fetch(`${http}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
    expect(await whoami(revoked)).toBe(200);
    expect((await drover('token', 'revoke', 'read-2', '--tokens-file', file)).code).toBe(0);
    const added = await createToken(file, 'write');
    // Within two checks of the file (TOKENS_CHECK_MS, 2 s each), bounded at 10 s.
    await waitFor(async () => (await whoami(revoked)) === 401 && (await whoami(added)) === 200, {
      timeoutMs: 10_000,
      what: 'the revoke and the new token taken',
    });
    expect(await whoami(kept)).toBe(200);
    expect(leader.linesWith('tokens file read again').length).toBeGreaterThan(0);

    chmodSync(file, 0o666);
    const open = cluster().spawn('open', [
      'leader',
      '--listen',
      '127.0.0.1:0',
      '--tokens-file',
      file,
    ]);
    expect((await open.exited).code).toBe(2);
    expect(open.raw).toEqual([
      `[stderr] drover: the tokens file ${file} can be changed by other users (mode 666): chmod go-w ${file}`,
    ]);
  });

  it('cuts the open streams of a revoked token (a worker, watches over gRPC and HTTP), and only those', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const revokedRead = await createToken(file, 'read');
    const keptRead = await createToken(file, 'read');
    const joinToken = await createToken(file, 'worker');
    const {
      address,
      http,
      process: leader,
    } = await cluster().startLeader(['--store', 'memory', '--tokens-file', file]);
    const worker = await cluster().startWorker(address, 'w-revoked', ['--token', joinToken]);
    const scheduler = new SchedulerServiceClient(address, credentials.createInsecure());
    const grpcWatch = (token: string) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      const call = scheduler.watchTasks(WatchTasksRequest.fromPartial({}), metadata);
      const ended = new Promise<Partial<ServiceError>>((resolve) => {
        call.on('error', (err: ServiceError) => resolve(err));
        call.on('end', () => resolve({ code: status.OK }));
      });
      const ids: string[] = [];
      call.on('data', (event: { task?: { id?: string } }) => ids.push(event.task?.id ?? ''));
      return { call, ended, ids };
    };
    const cutWatch = grpcWatch(revokedRead);
    const keptWatch = grpcWatch(keptRead);
    const httpWatch = await fetch(`${http}/v1/tasks:watch`, {
      headers: { authorization: `Bearer ${revokedRead}` },
    });
    expect(httpWatch.status).toBe(200);
    const httpEnded = (async () => {
      const reader = httpWatch.body!.getReader();
      try {
        // Bounded: the stream ends when the leader closes it, or the test times out.
        for (let i = 0; i < 10_000; i++) if ((await reader.read()).done) return 'ended';
        return 'still open';
      } catch {
        return 'ended';
      }
    })();

    expect((await drover('token', 'revoke', 'read-1', '--tokens-file', file)).code).toBe(0);
    expect((await drover('token', 'revoke', 'worker-1', '--tokens-file', file)).code).toBe(0);
    // Within two checks of the file (2 s each); each wait below is bounded by the test's.
    const refusal = await cutWatch.ended;
    expect(refusal.code).toBe(status.UNAUTHENTICATED);
    expect(refusal.details).toBe(
      'the tokens file changed and this call is no longer admitted: the token is not one this leader knows',
    );
    expect(await httpEnded).toBe('ended');
    // The worker's heartbeat stream is cut; its Join again is refused, so it stops, saying why.
    const { code } = await worker.exited;
    expect(code).not.toBe(0);
    expect(worker.raw.join('\n')).toMatch(/the token is not one this leader knows/);
    expect(leader.linesWith('call refused').some((l) => /^cut: /.test(String(l['reason'])))).toBe(
      true,
    );
    // The kept token's watch is still open: it sees a task scheduled now.
    const admin = await createToken(file, 'admin');
    await waitFor(
      async () =>
        (await drover('schedule', '--leader', address, '--token', admin, '--id', 'after', '1'))
          .code === 0,
      { timeoutMs: 10_000, what: 'the new admin token taken' },
    );
    await waitFor(async () => keptWatch.ids.includes('after'), {
      timeoutMs: 5_000,
      what: "the kept token's watch to see the new task",
    });
    keptWatch.call.cancel();
    scheduler.close();
  });

  it("keeps the worker's environment, its join token included, out of the commands it runs", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const write = await createToken(file, 'write');
    const joinToken = await createToken(file, 'worker');
    const { address, http } = await cluster().startLeader([
      '--store',
      'memory',
      '--tokens-file',
      file,
    ]);
    const saved = process.env['DROVER_TOKEN'];
    process.env['DROVER_TOKEN'] = joinToken; // the worker takes it from its environment
    try {
      await cluster().startWorker(address, 'w1', ['--allow-command', '/usr/bin/env']);
    } finally {
      if (saved === undefined) delete process.env['DROVER_TOKEN'];
      else process.env['DROVER_TOKEN'] = saved;
    }
    const ran = await drover(
      ...['schedule', '--leader', address, '--token', write],
      ...['--kind', 'command', '--id', 'env', '/usr/bin/env'],
    );
    expect(ran.code).toBe(0);
    const result = await waitFor(
      async () => {
        const response = await fetch(`${http}/v1/tasks/env`, {
          headers: { authorization: `Bearer ${write}` },
        });
        const task = (await response.json()) as { status?: string; result?: string };
        return task.status === 'TASK_STATUS_COMPLETED' ? (task.result ?? '') : false;
      },
      { timeoutMs: 10_000, what: 'the env command completed' },
    );
    const stdout = (JSON.parse(result) as { stdout?: string }).stdout ?? '';
    expect(stdout).toBe('PATH=/usr/local/bin:/usr/bin:/bin\n');
    expect(stdout).not.toContain(joinToken);
  });

  it('lets only the process that joined make its member leave or report: a join or write token is not enough', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
    const joinToken = await createToken(file, 'worker');
    const admin = await createToken(file, 'admin');
    const write = await createToken(file, 'write');
    const { address } = await cluster().startLeader(['--store', 'memory', '--tokens-file', file]);
    const worker = await cluster().startWorker(address, 'w1', ['--token', joinToken]);
    // A write token may complete a task by hand, not report for a worker (its results, its
    // failures and so its quarantine): workers report on their own stream.
    const scheduler = new SchedulerServiceClient(address, credentials.createInsecure());
    const asWriter = new Metadata();
    asWriter.set('authorization', `Bearer ${write}`);
    const complete = (memberId: string): Promise<ServiceError | null> =>
      new Promise((resolve) => {
        const report = { id: 'c1', attempt: memberId === '' ? 0 : 1, memberId };
        scheduler.taskComplete(
          { ...report, result: 'forged', error: '', permanent: false },
          asWriter,
          (err) => resolve(err),
        );
      });
    const scheduled = await drover(
      ...['schedule', '--leader', address, '--token', write, '--id', 'c1', '--kind', 'nobody', 'x'],
    );
    expect(scheduled.code).toBe(0);
    expect(await complete('w1')).toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringMatching(/workers report on their heartbeat stream/),
    });
    // By hand, as an operator: past the check (the pending task is then not completable).
    expect(await complete('')).toMatchObject({ code: status.FAILED_PRECONDITION });
    scheduler.close();
    const client = new LeaderServiceClient(address, credentials.createInsecure());
    const leave = (session: string): Promise<ServiceError | null> =>
      new Promise((resolve) => {
        const metadata = new Metadata();
        metadata.set('authorization', `Bearer ${joinToken}`);
        client.leave({ id: 'w1', session }, metadata, (err) => resolve(err));
      });
    try {
      // A Join with no instance would get a live member's session back (it counts as that
      // process retrying): a guarded leader refuses it.
      const joinWithout = await new Promise<ServiceError | null>((resolve) => {
        const metadata = new Metadata();
        metadata.set('authorization', `Bearer ${joinToken}`);
        client.join(JoinRequest.fromPartial({ id: 'w1', slots: 1 }), metadata, (err) =>
          resolve(err),
        );
      });
      expect(joinWithout).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/a Join must name its process \(instance\)/),
      });
      expect(await leave('')).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/a Leave must carry the session its Join returned/),
      });
      expect(await leave('not-the-session')).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/only the process that joined may leave/),
      });
    } finally {
      client.close();
    }
    const members = () => drover('members', '--leader', address, '--token', admin, '--json');
    expect((await members()).stdout).toMatch(/"status": "alive"/);
    // The worker itself leaves with its session when stopped.
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await members()).stdout).toMatch(/"status": "left"/);
  });

  it(
    'fuzzed authorization headers on every route: never a crash, never a pass without the right token, nothing changed by a refusal',
    { timeout: 90_000 },
    async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'drover-tokens-')), 'tokens.json');
      const tokens = {} as Record<Role, string>;
      for (const role of ROLES) {
        tokens[role] = await createToken(file, role);
      }
      const { http, process: leader } = await cluster().startLeader([
        '--store',
        'memory',
        '--tokens-file',
        file,
      ]);
      const digest = async (): Promise<string> => {
        const response = await fetch(`${http}/v1/tasks?pageSize=1000`, {
          headers: { authorization: `Bearer ${tokens.admin}` },
        });
        return JSON.stringify(
          ((await response.json()) as { tasks: { id: string; status: string }[] }).tasks.map(
            (t) => [t.id, t.status],
          ),
        );
      };
      const routes = Object.entries(ROUTE_NEEDS).filter(([, need]) => need !== 'public');
      // Authorization values a hostile or confused client sends; none carries a token that
      // fits but the ones built from a real token and the right role.
      const header = fc.oneof(
        fc.constant(undefined),
        fc.constantFrom(...ROLES).map((role) => ({ role, value: `Bearer ${tokens[role]}` })),
        fc
          .constantFrom(...ROLES)
          .map((role) => ({ role: undefined, value: `Basic ${tokens[role]}` })),
        fc
          .constantFrom(...ROLES)
          .map((role) => ({ role: undefined, value: `Bearer ${tokens[role]}x` })),
        fc.constantFrom(...ROLES).map((role) => ({ role: undefined, value: tokens[role] })),
        fc.string({ maxLength: 80 }).map((junk) => ({ role: undefined, value: `Bearer ${junk}` })),
        fc.constant({ role: undefined, value: `Bearer ${'x'.repeat(6000)}` }),
      );
      const body = fc.oneof(
        fc.constant('{}'),
        fc.constant('{"payload":"x","kind":"nobody"}'),
        fc.string({ maxLength: 40 }),
      );
      const property = fc.asyncProperty(
        fc.constantFrom(...routes),
        header,
        body,
        async ([key, need], auth, text) => {
          const [method, pattern] = key.split(' ') as [string, string];
          const before = await digest();
          const abort = new AbortController();
          const value = auth === undefined ? undefined : auth.value.replace(/[\r\n]/g, '');
          let status: number;
          try {
            const response = await fetch(`${http}${concrete(pattern)}`, {
              method,
              signal: abort.signal,
              headers: {
                ...(value === undefined ? {} : { authorization: value }),
                ...(method === 'GET' || method === 'DELETE'
                  ? {}
                  : { 'content-type': 'application/json' }),
              },
              ...(method === 'GET' || method === 'DELETE' ? {} : { body: text }),
            });
            status = response.status;
          } catch {
            status = 0; // a header the client itself would not send (fetch refused it)
          } finally {
            abort.abort();
          }
          const role = auth === undefined ? undefined : auth.role;
          if (status === 0) return;
          if (role === undefined)
            expect(status, `${key} with ${JSON.stringify(value)?.slice(0, 40)}`).toBe(401);
          else if (!allows(role, need)) expect(status, `${key} as ${role}`).toBe(403);
          else expect([401, 403]).not.toContain(status);
          if (status === 401 || status === 403) expect(await digest()).toBe(before);
          expect(leader.running).toBe(true);
        },
      );
      await fc.assert(property, {
        seed: 20261201,
        numRuns: 400,
        interruptAfterTimeLimit: 45_000,
        markInterruptAsFailure: false,
      });
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
    },
  );
});
