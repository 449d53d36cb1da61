import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaderServiceService } from '../../src/gen/cluster/v1/leader.js';
import { SchedulerServiceService } from '../../src/gen/scheduler/v1/scheduler.js';
import {
  hostileBody,
  hostileNumber,
  hostileObject,
  hostileProtobuf,
  hostileString,
  type Tagged,
} from '../fuzz/hostile.js';
import { RPC_NEEDS } from '../../src/leader/auth/permissions.js';
import { allows, type Role } from '../../src/leader/auth/roles.js';
import { createToken } from '../helpers/cli-run.js';
import { useCluster } from '../helpers/use-cluster.js';

// The fuzzer (issue #14): generated hostile input at every HTTP route and every RPC of a
// real leader (default store). Properties: no 5xx and no INTERNAL/UNKNOWN for bad input;
// the leader stays up and answers; a refused call changes nothing in the task list; its
// memory stays bounded; and after the run it restarts with every task it acknowledged.
// It runs twice: on an open leader, and with tokens on (issue #20), each call then
// carrying a token of any role, an unknown one or none: the same properties hold, and
// nothing passes without a token (nor, over gRPC, without a role that allows it).
//
// CI runs a short seeded run. A long run by hand:
//   FUZZ_RUNS=20000 FUZZ_SECONDS=1200 FUZZ_REPORT=bench/results/fuzz.json \
//     npx vitest run test/integration/fuzz.test.ts

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261130);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2500);
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 40);
const REPORT = process.env['FUZZ_REPORT'];

/** Who a call claims to be: a token of a role, one the leader does not know, or none. */
type Caller = Role | 'unknown' | 'none';
/** Mostly admin, so hostile input reaches the handlers; the rest tries the check itself. */
const caller: fc.Arbitrary<Caller> = fc.constantFrom<Caller>(
  ...(['admin', 'admin', 'admin', 'write', 'read', 'worker', 'unknown', 'none'] as const),
);

/** The two runs: an open leader, and one with tokens (half the budget, to keep CI short). */
const MODES = [
  { mode: 'open', tokens: false, runs: RUNS, seconds: SECONDS },
  { mode: 'tokens on', tokens: true, runs: Math.ceil(RUNS / 2), seconds: Math.ceil(SECONDS / 2) },
] as const;

/** A tokens file with one token per role; returns the file and the tokens. */
async function tokensForEveryRole(): Promise<{ file: string; tokens: Record<Role, string> }> {
  const file = join(mkdtempSync(join(tmpdir(), 'drover-fuzz-')), 'tokens.json');
  const tokens = {} as Record<Role, string>;
  for (const role of ['read', 'write', 'admin', 'worker'] as const) {
    tokens[role] = await createToken(file, role);
  }
  return { file, tokens };
}

type Method = (typeof LeaderServiceService)[keyof typeof LeaderServiceService] & {
  requestSerialize: (value: never) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
};
const METHODS = [
  ...Object.values(LeaderServiceService),
  ...Object.values(SchedulerServiceService),
] as unknown as Method[];

/** One generated call. */
type Case =
  | {
      readonly transport: 'http';
      readonly method: string;
      readonly path: string;
      readonly contentType: string | undefined;
      readonly body: Uint8Array | undefined;
      readonly kinds: string[];
    }
  | {
      readonly transport: 'grpc';
      readonly rpc: Method;
      readonly messages: Uint8Array[];
      readonly bigMetadata: boolean;
      readonly kinds: string[];
    };

const enc = (t: Tagged<string>): string => {
  try {
    return encodeURIComponent(t.value);
  } catch {
    return t.value; // a lone surrogate: sent raw, as a broken client would
  }
};

const httpCase: fc.Arbitrary<Case> = fc
  .record({
    route: fc.constantFrom(
      'POST /v1/tasks',
      'GET /v1/tasks',
      'GET /v1/tasks/{id}',
      'POST /v1/tasks/{id}:cancel',
      'DELETE /v1/tasks/{id}',
      'GET /v1/tasks/{id}/output',
      'GET /v1/tasks:watch',
      'GET /v1/members:watch',
      'GET /v1/members',
      'POST /v1/members/{id}:drain',
      'POST /start',
      'POST /stop',
      'POST /query',
      'ANY /start-job',
      'GET /status/{id}',
      'GET /healthz',
      'ANY {random}',
    ),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
    id: hostileString,
    query: fc.array(
      fc.tuple(
        fc.constantFrom('status', 'memberId', 'pageSize', 'pageToken', 'offset', 'follow', 'nope'),
        fc.oneof(
          hostileString,
          hostileNumber.map((n) => ({ kind: n.kind, value: String(n.value) })),
        ),
      ),
      { maxLength: 3 },
    ),
    body: fc.option(hostileBody, { freq: 4 }),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      undefined,
      'application/json; charset=latin1',
    ),
  })
  .map(({ route, method, id, query, body, contentType }) => {
    const [routeMethod, template] = route.split(' ') as [string, string];
    const path = template === '{random}' ? `/${enc(id)}` : template.replace('{id}', enc(id));
    const search = query.map(([key, value]) => `${key}=${enc(value as Tagged<string>)}`).join('&');
    return {
      transport: 'http' as const,
      method: routeMethod === 'ANY' ? method : routeMethod,
      path: search === '' ? path : `${path}?${search}`,
      contentType,
      body: body?.value,
      kinds: [`http ${route}`, id.kind, ...(body ? [body.kind] : [])],
    };
  });

const grpcCase: fc.Arbitrary<Case> = fc
  .record({
    rpc: fc.constantFrom(...METHODS),
    messages: fc.array(
      fc.oneof(
        hostileProtobuf,
        hostileObject.map((o) => ({ ...o, object: true })),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    bigMetadata: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map(({ rpc, messages, bigMetadata }) => {
    const encoded = messages.map((m) => {
      if (!('object' in m)) return m.value;
      try {
        return rpc.requestSerialize(m.value as never);
      } catch {
        return Uint8Array.from([]);
      }
    });
    return {
      transport: 'grpc' as const,
      rpc,
      messages: encoded,
      bigMetadata,
      kinds: [`grpc ${rpc.path}`, ...messages.map((m) => m.kind)],
    };
  });

/** Every task the leader lists, page by page (bounded). */
async function allTasks(
  base: string,
  headers: Record<string, string> = {},
): Promise<{ id: string; status: string }[]> {
  const tasks: { id: string; status: string }[] = [];
  let token = '';
  for (let page = 0; page < 100; page++) {
    const query = token === '' ? '' : `&pageToken=${token}`;
    const response = await fetch(`${base}/v1/tasks?pageSize=1000${query}`, { headers });
    const body = (await response.json()) as {
      tasks: { id: string; status: string }[];
      nextPageToken: string;
    };
    tasks.push(...body.tasks);
    token = body.nextPageToken;
    if (token === '') break;
  }
  return tasks;
}

/** An error's message and its causes' messages and codes, for matching. */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const { message, code, cause } = e as { message?: string; code?: string; cause?: unknown };
    parts.push(String(message ?? ''), String(code ?? ''));
    e = cause;
  }
  return parts.join(' ');
}

/** What a gRPC call ended with. */
interface GrpcOutcome {
  code: status;
  details: string;
  responses: unknown[];
}

describe.each(MODES)('fuzzer: hostile input at every route and RPC ($mode)', (fuzz) => {
  const { cluster } = useCluster();

  it(
    'answers every bad input with a 4xx or a client-side status, changes nothing it refused, and restarts with what it acknowledged',
    { timeout: (fuzz.seconds + 60) * 1000 },
    async () => {
      const dataDir = cluster().dataDir();
      const auth = fuzz.tokens ? await tokensForEveryRole() : undefined;
      const authArgs = auth ? ['--tokens-file', auth.file] : [];
      /** The authorization header a caller sends, if any. */
      const header = (who: Caller): Record<string, string> => {
        if (auth === undefined || who === 'none') return {};
        const token = who === 'unknown' ? 'drv_not-a-token-this-leader-knows' : auth.tokens[who];
        return { authorization: `Bearer ${token}` };
      };
      const {
        process: leader,
        address,
        http,
      } = await cluster().startLeader(['--data-dir', dataDir, ...authArgs]);
      const client = new Client(address, credentials.createInsecure());
      const acknowledged = new Set<string>();
      /** Where each acknowledged or deleted id came from, for the failure message. */
      const origin = new Map<string, string>();
      const deleted = new Set<string>();
      const tried = new Map<string, number>();
      const outcomes = new Map<string, number>();
      const count = (map: Map<string, number>, key: string): void => {
        map.set(key, (map.get(key) ?? 0) + 1);
      };

      const digest = async (): Promise<string> =>
        (await allTasks(http, header('admin'))).map((t) => `${t.id}:${t.status}`).join('\n');

      const runHttp = async (
        c: Extract<Case, { transport: 'http' }>,
        who: Caller,
      ): Promise<{ status: number; body: string }> => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 3_000);
        try {
          const response = await fetch(`${http}${c.path}`, {
            method: c.method,
            headers: {
              ...header(who),
              ...(c.contentType === undefined || c.body === undefined
                ? {}
                : { 'content-type': c.contentType }),
            },
            body: c.body === undefined || c.method === 'GET' ? undefined : c.body,
            signal: controller.signal,
          });
          // A watch or followed output that opened: its first bytes are enough.
          const streaming = (response.headers.get('content-type') ?? '').startsWith(
            'text/event-stream',
          );
          let body = '';
          if (streaming) {
            const reader = response.body!.getReader();
            const first = await reader.read();
            body = new TextDecoder().decode(first.value ?? new Uint8Array());
            await reader.cancel();
          } else body = await response.text();
          return { status: response.status, body };
        } catch (err) {
          if (controller.signal.aborted) return { status: 0, body: 'client timeout' };
          // An oversized request (a 2 MB body, a URL past the header limit) is answered
          // (413/431) and the connection closed while the client still writes: the client
          // sees a reset. The server refused it; the task-list check below still applies.
          if (/ECONNRESET|EPIPE|other side closed/.test(errorChain(err))) {
            return { status: 499, body: '' };
          }
          throw err;
        } finally {
          clearTimeout(timer);
        }
      };

      const runGrpc = (
        c: Extract<Case, { transport: 'grpc' }>,
        who: Caller,
      ): Promise<GrpcOutcome> =>
        new Promise((resolve) => {
          const metadata = new Metadata();
          for (const [key, value] of Object.entries(header(who))) metadata.set(key, value);
          if (c.bigMetadata) metadata.set('x-big', 'm'.repeat(64 * 1024));
          const deadline = Date.now() + 3_000;
          const identity = (b: Uint8Array): Buffer => Buffer.from(b);
          const decode = (b: Buffer): unknown => {
            try {
              return c.rpc.responseDeserialize(b);
            } catch {
              return undefined;
            }
          };
          const responses: unknown[] = [];
          const done = (err: ServiceError | null): void =>
            resolve({ code: err ? err.code : status.OK, details: err?.details ?? '', responses });
          if (!c.rpc.requestStream && !c.rpc.responseStream) {
            client.makeUnaryRequest(
              c.rpc.path,
              identity,
              decode,
              c.messages[0]!,
              metadata,
              { deadline },
              (err, res) => {
                if (res !== undefined) responses.push(res);
                done(err);
              },
            );
            return;
          }
          if (!c.rpc.requestStream) {
            const call = client.makeServerStreamRequest(
              c.rpc.path,
              identity,
              decode,
              c.messages[0]!,
              metadata,
              { deadline },
            );
            // A watch that opened is enough: its first message, or a short while.
            const stop = setTimeout(() => call.cancel(), 300);
            call.on('data', (m: unknown) => {
              responses.push(m);
              call.cancel();
            });
            call.on('error', (err: ServiceError) => {
              clearTimeout(stop);
              done(err);
            });
            call.on('end', () => {
              clearTimeout(stop);
              done(null);
            });
            return;
          }
          const call = client.makeBidiStreamRequest(c.rpc.path, identity, decode, metadata, {
            deadline,
          });
          call.on('data', (m: unknown) => responses.push(m));
          call.on('error', (err: ServiceError) => done(err));
          call.on('end', () => done(null));
          for (const message of c.messages) call.write(message);
          call.end();
        });

      /** Codes a bad request may get; INTERNAL, UNKNOWN and DATA_LOSS mean a bug. */
      const BAD_CODES = new Set([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);

      const callers = fuzz.tokens ? caller : fc.constant<Caller>('none');
      const property = fc.asyncProperty(fc.oneof(httpCase, grpcCase), callers, async (c, who) => {
        for (const kind of c.kinds) count(tried, kind);
        const before = await digest();
        let refused: boolean;
        // With tokens, a call with none or an unknown one gets nothing but public routes.
        const anonymous = fuzz.tokens && (who === 'none' || who === 'unknown');
        if (c.transport === 'http') {
          const answer = await runHttp(c, who);
          count(outcomes, `http ${answer.status}`);
          expect(
            answer.status,
            `${c.method} ${c.path.slice(0, 200)}: ${answer.body.slice(0, 300)}`,
          ).toBeGreaterThan(0);
          expect(
            answer.status,
            `${c.method} ${c.path.slice(0, 200)}: ${answer.body.slice(0, 300)}`,
          ).toBeLessThan(500);
          if (answer.status >= 400 && answer.body !== '') {
            // Every refusal in the one shape.
            expect(Object.keys(JSON.parse(answer.body) as object)).toEqual(['error']);
          }
          refused = answer.status >= 400;
          if (anonymous && !c.kinds[0]!.endsWith('/healthz') && !c.kinds[0]!.endsWith('{random}')) {
            expect(
              answer.status,
              `${c.method} ${c.path.slice(0, 200)} as ${who}`,
            ).toBeGreaterThanOrEqual(400);
          }
          const created =
            (c.method === 'POST' && c.path.startsWith('/v1/tasks') && answer.status === 201) ||
            (c.path.startsWith('/start-job') && answer.status === 200);
          const removed =
            c.method === 'DELETE' && c.path.startsWith('/v1/tasks/') && answer.status === 200;
          if (created || removed) {
            const id = (JSON.parse(answer.body) as { id: string }).id;
            (removed ? deleted : acknowledged).add(id);
            origin.set(
              id,
              `${removed ? 'deleted' : 'created'} by ${c.method} ${c.path.slice(0, 80)}`,
            );
          }
        } else {
          const outcome = await runGrpc(c, who);
          count(outcomes, `grpc ${status[outcome.code]}`);
          const need = RPC_NEEDS[c.rpc.path]!;
          if (anonymous)
            expect(outcome.code, `${c.rpc.path} as ${who}`).toBe(status.UNAUTHENTICATED);
          else if (fuzz.tokens && !allows(who as Role, need)) {
            expect(outcome.code, `${c.rpc.path} as ${who}`).toBe(status.PERMISSION_DENIED);
          }
          expect(
            BAD_CODES.has(outcome.code),
            `${c.rpc.path}: ${status[outcome.code]} ${outcome.details}`,
          ).toBe(false);
          refused = outcome.code !== status.OK && outcome.responses.length === 0;
          for (const response of outcome.responses as Record<string, unknown>[]) {
            if (response === undefined) continue;
            const ids =
              c.rpc.path.endsWith('/ScheduleTask') ||
              c.rpc.path.endsWith('/ScheduleTasks') ||
              c.rpc.path.endsWith('/ScheduleTaskStream')
                ? [response['id'], ...((response['ids'] as string[] | undefined) ?? [])]
                : [];
            for (const id of ids) {
              if (typeof id !== 'string' || id === '') continue;
              acknowledged.add(id);
              origin.set(id, `created by ${c.rpc.path}`);
            }
            if (c.rpc.path.endsWith('/DeleteTask')) {
              const task = response['task'] as { id?: string } | undefined;
              if (task?.id) {
                deleted.add(task.id);
                origin.set(task.id, `deleted by ${c.rpc.path}`);
              }
            }
          }
        }
        expect(leader.running).toBe(true);
        if (refused) expect(await digest()).toBe(before);
      });

      const started = Date.now();
      await fc.assert(property, {
        seed: SEED,
        numRuns: fuzz.runs,
        interruptAfterTimeLimit: fuzz.seconds * 1000,
        markInterruptAsFailure: false,
        endOnFailure: true,
      });
      const seconds = (Date.now() - started) / 1000;

      // Still answering at once, memory bounded.
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      const rssMiB =
        Number(
          /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${leader.pid}/status`, 'utf8'))?.[1] ?? 0,
        ) / 1024;
      expect(rssMiB).toBeLessThan(768);
      client.close();

      // A restart keeps everything that was acknowledged (and not deleted since).
      leader.kill('SIGTERM');
      expect((await leader.exited).code).toBe(0);
      const again = await cluster().startLeader(['--data-dir', dataDir, ...authArgs], 'leader-2');
      const after = new Set((await allTasks(again.http, header('admin'))).map((t) => t.id));
      const lost = [...acknowledged].filter((id) => !deleted.has(id) && !after.has(id));
      expect(lost.map((id) => `${JSON.stringify(id)} ${origin.get(id) ?? ''}`)).toEqual([]);

      const report = {
        seed: SEED,
        runs: [...outcomes.values()].reduce((a, b) => a + b, 0),
        seconds: Math.round(seconds),
        acknowledgedTasks: acknowledged.size,
        leaderRssMiB: Math.round(rssMiB),
        outcomes: Object.fromEntries([...outcomes].sort()),
        triedByKind: Object.fromEntries([...tried].sort((a, b) => b[1] - a[1])),
      };
      process.stderr.write(
        `fuzz (${fuzz.mode}): ${JSON.stringify({ ...report, triedByKind: undefined })}\n`,
      );
      if (REPORT && !fuzz.tokens) writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
      if (REPORT && fuzz.tokens) {
        writeFileSync(
          REPORT.replace(/(\.json)?$/, '-tokens.json'),
          `${JSON.stringify(report, null, 2)}\n`,
        );
      }
    },
  );
});
