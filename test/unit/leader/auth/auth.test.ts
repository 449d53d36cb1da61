import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeaderServiceService } from '../../../../src/gen/cluster/v1/leader.js';
import { SchedulerServiceService } from '../../../../src/gen/scheduler/v1/scheduler.js';
import { authorize } from '../../../../src/leader/auth/authorize.js';
import { RPC_NEEDS, ROUTE_NEEDS } from '../../../../src/leader/auth/permissions.js';
import { allows } from '../../../../src/leader/auth/roles.js';
import {
  bearerToken,
  hashToken,
  readTokenFile,
  Tokens,
} from '../../../../src/leader/auth/token-file.js';
import { createToken, listTokens, revokeToken } from '../../../../src/leader/auth/token-store.js';
import { checkRpcNeeds } from '../../../../src/leader/grpc/auth-interceptor.js';
import { InvalidArgumentError } from '../../../../src/shared/errors.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'drover-auth-')), 'tokens.json');

describe('roles', () => {
  it('orders read < write < admin, and keeps worker apart', () => {
    expect(allows('admin', 'write')).toBe(true);
    expect(allows('write', 'read')).toBe(true);
    expect(allows('read', 'write')).toBe(false);
    expect(allows('write', 'admin')).toBe(false);
    expect(allows('worker', 'read')).toBe(false);
    expect(allows('admin', 'worker')).toBe(false);
    expect(allows('worker', 'worker')).toBe(true);
    expect(allows('read', 'public')).toBe(true);
  });
});

describe('the permission tables', () => {
  it('give every RPC the leader serves a role, and name no RPC it does not serve', () => {
    expect(() => checkRpcNeeds([LeaderServiceService, SchedulerServiceService])).not.toThrow();
    const served = new Set(
      [LeaderServiceService, SchedulerServiceService].flatMap((s) =>
        Object.values(s).map((m) => m.path),
      ),
    );
    const stale = Object.keys(RPC_NEEDS).filter(
      (path) => !served.has(path) && !/^\/grpc\.(health|reflection)\./.test(path),
    );
    expect(stale).toEqual([]);
    expect(() => checkRpcNeeds([{ X: { path: '/x.v1.X/New' } } as never])).toThrow(
      /no role in RPC_NEEDS: \/x.v1.X\/New/,
    );
  });

  it('match the issue: read lists, gets, watches, reads output and metrics; write changes tasks; admin runs the cluster', () => {
    const rpc = (name: string) => RPC_NEEDS[`/scheduler.v1.SchedulerService/${name}`];
    for (const name of ['GetTasks', 'GetTask', 'WatchTasks', 'GetTaskOutput']) {
      expect(rpc(name)).toBe('read');
    }
    for (const name of ['ScheduleTask', 'CancelTask', 'RetryTask', 'DeleteTask']) {
      expect(rpc(name)).toBe('write');
    }
    for (const name of ['SetLimit', 'AddCronSchedule', 'Pause']) expect(rpc(name)).toBe('admin');
    expect(RPC_NEEDS['/cluster.v1.LeaderService/Drain']).toBe('admin');
    expect(RPC_NEEDS['/cluster.v1.LeaderService/Join']).toBe('worker');
    expect(ROUTE_NEEDS['GET /metrics']).toBe('read');
    expect(ROUTE_NEEDS['POST /v1/tasks']).toBe('write');
    expect(ROUTE_NEEDS['POST /v1/members/:id(.+)::drain']).toBe('admin');
    expect(ROUTE_NEEDS['GET /healthz']).toBe('public');
  });
});

describe('tokens', () => {
  it('are made, listed and revoked in a file that keeps only their hashes, readable by its owner', () => {
    const file = tempFile();
    const token = createToken(file, 'ci', 'write');
    expect(token).toMatch(/^drv_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(listTokens(file)).toEqual([{ name: 'ci', role: 'write', sha256: hashToken(token) }]);
    expect(() => createToken(file, 'ci', 'read')).toThrow(/already in/);
    expect(() => createToken(file, 'bad name', 'read')).toThrow(/token name/);
    expect(revokeToken(file, 'ci')).toBe(true);
    expect(revokeToken(file, 'ci')).toBe(false);
    expect(listTokens(file)).toEqual([]);
  });

  it('are found by hash; a wrong or missing one is UNAUTHENTICATED, a weak role PERMISSION_DENIED', () => {
    const file = tempFile();
    const reader = createToken(file, 'reader', 'read');
    const tokens = new Tokens(readTokenFile(file).entries);
    expect(tokens.find(reader)?.name).toBe('reader');
    expect(tokens.find(`${reader}x`)).toBeUndefined();
    expect(authorize(tokens, 'read', [`Bearer ${reader}`])).toBe('reader');
    expect(authorize(tokens, 'public', [])).toBe('');
    expect(() => authorize(tokens, 'read', [])).toThrow(
      expect.objectContaining({ kind: 'unauthenticated' }),
    );
    expect(() => authorize(tokens, 'read', ['Bearer drv_nope'])).toThrow(
      /not one this leader knows/,
    );
    expect(() => authorize(tokens, 'write', [`Bearer ${reader}`])).toThrow(
      expect.objectContaining({
        kind: 'denied',
        message: 'token "reader" has role read; this needs write',
      }),
    );
    expect(() => authorize(tokens, 'read', ['Basic x'])).toThrow(/not "Bearer <token>"/);
    expect(() => authorize(tokens, 'read', [`Bearer ${reader}`, 'Bearer x'])).toThrow(
      /send one authorization header, not 2/,
    );
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
  });

  it('refuse a file they cannot use, at start, with where and why', () => {
    const file = tempFile();
    writeFileSync(file, '{"tokens":[{"name":"x","role":"root","sha256":"00"}]}');
    expect(() => readTokenFile(file)).toThrow(InvalidArgumentError);
    expect(() => readTokenFile(file)).toThrow(/token 1 \(x\): role must be/);
    writeFileSync(file, '[]');
    expect(() => readTokenFile(file)).toThrow(/expected \{"tokens"/);
    writeFileSync(file, '{"tokens":[]}');
    expect(() => readTokenFile(file)).toThrow(/holds no tokens/);
    const sha256 = 'a'.repeat(64);
    writeFileSync(
      file,
      JSON.stringify({
        tokens: [
          { name: 'r', role: 'read', sha256 },
          { name: 'sneaky', role: 'admin', sha256 },
        ],
      }),
    );
    expect(() => readTokenFile(file)).toThrow(/tokens 1 and 2 share a name or a token/);
  });
});
