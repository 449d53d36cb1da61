import { credentials, status, type ClientReadableStream } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import {
  call,
  describeCallError,
  EXIT,
  runOnLeaders,
  withClients,
  type LeaderClients,
} from '../../../src/cli/client.js';
import { useFakeLeaders } from '../client/fake-leaders.js';

const insecure = { creds: credentials.createInsecure(), token: undefined };

describe('CLI commands given several leaders', () => {
  const start = useFakeLeaders();

  /** A `drover members` body that notes each leader it ran on. */
  function members(visited: string[]) {
    return async (clients: LeaderClients): Promise<void> => {
      visited.push(clients.address);
      await call(clients, clients.leader.members.bind(clients.leader), {});
    };
  }

  it('goes to the leader a refusal names at once, before the rest of the list', async () => {
    const active = await start('active');
    const standby = await start('standby', active.address);
    const other = await start('standby');
    const visited: string[] = [];
    const addresses = [standby.address, other.address];
    const failure = await runOnLeaders(addresses, insecure, 5_000, members(visited));
    expect(failure).toBeUndefined();
    expect(visited).toEqual([standby.address, active.address]);
    expect(other.calls).toEqual([]);
  });

  it('tries the next listed leader when a refusal names none', async () => {
    const standby = await start('standby');
    const active = await start('active');
    const visited: string[] = [];
    const addresses = [standby.address, active.address];
    expect(await runOnLeaders(addresses, insecure, 5_000, members(visited))).toBeUndefined();
    expect(visited).toEqual(addresses);
  });

  it('ends a loop of leaders naming each other after two hops, naming what it tried', async () => {
    const a = await start('standby');
    const b = await start('standby', a.address);
    a.hint = b.address;
    const visited: string[] = [];
    const failure = await runOnLeaders([a.address], insecure, 5_000, members(visited));
    expect(visited).toEqual([a.address, b.address, a.address]);
    expect(failure?.address).toBe(`${a.address} (tried ${visited.join(', ')})`);
    expect((failure?.err as { code?: number }).code).toBe(status.UNAVAILABLE);
  });

  it('moves a stream refused before its first message', async () => {
    const active = await start('active'); // answers no GetTaskOutput: UNIMPLEMENTED
    const standby = await start('standby', active.address);
    const visited: string[] = [];
    const failure = await runOnLeaders([standby.address], insecure, 5_000, async (clients) => {
      visited.push(clients.address);
      await ended(clients.scheduler.getTaskOutput({ id: 't', offset: 0, follow: true }));
    });
    expect(visited).toEqual([standby.address, active.address]);
    expect((failure?.err as { code?: number }).code).toBe(status.UNIMPLEMENTED);
  });

  it('does not run a command again elsewhere once a leader has answered it', async () => {
    const active = await start('active');
    const other = await start('active');
    const visited: string[] = [];
    const brokeAfterAnswer = Object.assign(new Error('link broke'), { code: status.UNAVAILABLE });
    const failure = await runOnLeaders(
      [active.address, other.address],
      insecure,
      5_000,
      async (clients) => {
        await members(visited)(clients);
        throw brokeAfterAnswer;
      },
    );
    expect(visited).toEqual([active.address]);
    expect(failure).toEqual({ err: brokeAfterAnswer, address: active.address });
  });

  it('says why each leader of a list could not do it, the last first', async () => {
    const standby = await start('standby');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const exitCodeBefore = process.exitCode;
    try {
      await withClients(
        { leader: `127.0.0.1:1,${standby.address}`, timeoutMs: 5_000, json: false },
        members([]),
      );
      const lines = stderr.mock.calls.map(([text]) => String(text));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^drover: the leader at .* cannot serve it now: this leader is a standby.*\(UNAVAILABLE; retry shortly\)\n$/,
      );
      expect(lines[1]).toMatch(
        /^drover: before that, cannot reach the leader at 127\.0\.0\.1:1: .*ECONNREFUSED.*\(is it running\? see --leader\)\n$/,
      );
      expect(process.exitCode).toBe(3);
    } finally {
      stderr.mockRestore();
      process.exitCode = exitCodeBefore;
    }
  });

  it('says a standby that answered refused, not that it could not be reached (exit 3)', async () => {
    const standby = await start('standby');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const exitCodeBefore = process.exitCode;
    try {
      const visited: string[] = [];
      await withClients(
        { leader: standby.address, timeoutMs: 5_000, json: false },
        members(visited),
      );
      expect(visited).toEqual([standby.address]);
      expect(stderr.mock.calls).toEqual([
        [
          `drover: the leader at ${standby.address} cannot serve it now: this leader is a standby; ` +
            'the active leader is unknown (term 3) (UNAVAILABLE; retry shortly)\n',
        ],
      ]);
      expect(process.exitCode).toBe(3);
    } finally {
      stderr.mockRestore();
      process.exitCode = exitCodeBefore;
    }
  });
});

/** Resolves when the leader ends `stream`, rejects with its error. */
function ended(stream: ClientReadableStream<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', () => {});
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
}

describe('describeCallError', () => {
  it('quotes a refused connection without grpc-js noise, and says what to check', () => {
    const refused = {
      code: status.UNAVAILABLE,
      details:
        'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
    };
    expect(describeCallError(refused, '127.0.0.1:1')).toEqual({
      message:
        'cannot reach the leader at 127.0.0.1:1: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (is it running? see --leader)',
      exitCode: EXIT.unreachable,
    });
    const unresolved = {
      code: status.UNAVAILABLE,
      details: 'Name resolution failed for target dns:nosuch.invalid:50051',
    };
    expect(describeCallError(unresolved, 'nosuch.invalid:50051').message).toBe(
      'cannot reach the leader at nosuch.invalid:50051: Name resolution failed for target dns:nosuch.invalid:50051 (is the host name right? see --leader)',
    );
  });

  it("asks whether a port that speaks another protocol is the leader's gRPC port", () => {
    const http = {
      code: status.UNAVAILABLE,
      details: 'No connection established. Last error: Protocol error (2026-12-02T17:03:48.838Z)',
    };
    expect(describeCallError(http, '127.0.0.1:8080').message).toBe(
      "cannot reach the leader at 127.0.0.1:8080: No connection established. Last error: Protocol error (is that the leader's gRPC port, not its HTTP one? see --leader)",
    );
  });

  it('says a deadline ran out without grpc-js phase timings, and what to check', () => {
    const silent = {
      code: status.DEADLINE_EXCEEDED,
      details:
        'Deadline exceeded after 5.009s,name resolution: 0.046s,metadata filters: 0.001s,Waiting for LB pick',
    };
    expect(describeCallError(silent, '127.0.0.1:9').message).toBe(
      'cannot reach the leader at 127.0.0.1:9: Deadline exceeded after 5.009s (no answer in time: is that a drover leader, and is it running, not frozen or overloaded? see --leader, --timeout-ms)',
    );
  });

  it('tells an UNAVAILABLE the leader sent (its database is away) from one it could not be reached for', () => {
    const databaseAway = {
      code: status.UNAVAILABLE,
      details: 'cannot read the leader list from PostgreSQL: timeout expired',
    };
    expect(describeCallError(databaseAway, 'a:1')).toEqual({
      message:
        'the leader at a:1 cannot serve it now: cannot read the leader list from PostgreSQL: timeout expired (UNAVAILABLE; retry shortly)',
      exitCode: EXIT.unreachable,
    });
    // Said of a leader tried before another answered for good: no advice to retry.
    expect(describeCallError(databaseAway, 'a:1', true).message).toMatch(/\(UNAVAILABLE\)$/);
    const dropped = { code: status.UNAVAILABLE, details: 'Connection dropped' };
    expect(describeCallError(dropped, 'a:1').message).toBe(
      'cannot reach the leader at a:1: Connection dropped (is it running? see --leader)',
    );
  });

  it('names the status of a refusal, with exit code 1', () => {
    const notFound = { code: status.NOT_FOUND, details: 'task x not found' };
    expect(describeCallError(notFound, 'a:1')).toEqual({
      message: 'task x not found (NOT_FOUND)',
      exitCode: EXIT.refused,
    });
  });
});
