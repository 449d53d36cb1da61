import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LeaseElector, type ElectorEvents } from '../../../../src/leader/ha/lease-elector.js';
import { electorSessionName } from '../../../../src/leader/ha/lease-sql.js';
import { PostgresTaskStore } from '../../../../src/scheduler/store/postgres-store.js';
import type { ActiveLeader } from '../../../../src/leader/ha/leader-switch.js';
import {
  dropTestSchemas,
  queryTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from '../../../helpers/pg-schema.js';
import { waitFor } from '../../../helpers/wait-for.js';

// The election against the real PostgreSQL, with short leases (renew 50 ms, lease 400 ms):
// the time rules themselves are unit-tested with a fake clock in lease-term.test.ts.
const TIMING = { renewMs: 50, leaseMs: 400 };

interface Seen {
  events: string[];
  elected: number[];
  leader: ActiveLeader | undefined;
  trouble: string | undefined;
}

const running: { stop: AbortController; done: Promise<void> }[] = [];
const roles: string[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort();
    await r.done;
  }
  await dropTestSchemas();
  for (const role of roles.splice(0)) {
    await queryTestDatabase(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`,
      [role],
    );
    await queryTestDatabase(`DROP OWNED BY ${role}`);
    await queryTestDatabase(`DROP ROLE IF EXISTS ${role}`);
  }
});

function start(id: string, schema: string, url = TEST_DATABASE_URL) {
  const seen: Seen = { events: [], elected: [], leader: undefined, trouble: undefined };
  const events: ElectorEvents = {
    elected: (term) => {
      seen.elected.push(term);
      seen.events.push(`elected ${term}`);
    },
    deposed: (term, reason) => seen.events.push(`deposed ${term}: ${reason}`),
    leaderSeen: (leader) => {
      seen.leader = leader;
    },
    databaseTrouble: (reason) => {
      seen.trouble = reason;
    },
  };
  const elector = new LeaseElector(
    {
      url,
      schema,
      self: { id, address: `${id}:50051`, httpAddress: undefined },
      timing: TIMING,
      logger: pino({ level: 'silent' }),
    },
    events,
  );
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  running.push({ stop, done });
  return { elector, seen, stop: () => (stop.abort(), done) };
}

const until = <T>(check: () => T | undefined | false, what: string) =>
  waitFor(check, { timeoutMs: 10_000, what });

describe('LeaseElector on PostgreSQL', () => {
  it('elects one leader; the other stands by and sees it', async () => {
    const schema = testSchema();
    const a = start('a', schema);
    await until(() => a.seen.elected.length === 1, 'a elected');
    const b = start('b', schema);
    await until(() => b.seen.leader?.id === 'a', 'b sees a');
    expect(b.seen.leader).toMatchObject({ id: 'a', term: 1, address: 'a:50051' });
    expect(b.seen.elected).toEqual([]);
    const leaders = await b.elector.leaders();
    expect(leaders.map((l) => [l.id, l.role, l.term])).toEqual([
      ['a', 'active', 1],
      ['b', 'standby', undefined],
    ]);
  });

  it('hands over at once on a clean stop: the standby takes the next term', async () => {
    const schema = testSchema();
    const a = start('a', schema);
    await until(() => a.seen.elected.length === 1, 'a elected');
    const b = start('b', schema);
    await until(() => b.seen.leader?.id === 'a', 'b sees a');
    await a.stop();
    await until(() => b.seen.elected.length === 1, 'b elected');
    expect(b.seen.elected).toEqual([2]);
    // a left the list as it stopped: it is not shown as a standby that no longer answers.
    expect((await b.elector.leaders()).map((l) => [l.id, l.role])).toEqual([['b', 'active']]);
  });

  it('a leader cut off from the database is replaced at once (its session is gone) and steps down by its own deadline', async () => {
    const schema = testSchema();
    // Leader a logs in as a role of its own, so the test can cut it off alone.
    const role = `drover_test_${randomBytes(4).toString('hex')}`;
    roles.push(role);
    await queryTestDatabase(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    const url = new URL(TEST_DATABASE_URL);
    url.username = role;
    const a = start('a', schema, url.toString());
    await until(() => a.seen.elected.length === 1, 'a elected');
    const b = start('b', schema);
    await until(() => b.seen.leader?.id === 'a', 'b sees a');

    const cutAt = performance.now();
    await queryTestDatabase(`ALTER ROLE ${role} NOLOGIN`);
    await queryTestDatabase(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`,
      [role],
    );
    // No need to wait out a's lease: its elector session is gone, as if its process died.
    await until(() => b.seen.elected.length === 1, 'b elected');
    const electedAfterMs = performance.now() - cutAt;
    expect(b.seen.elected).toEqual([2]);
    expect(electedAfterMs).toBeLessThan(TIMING.leaseMs);
    // Its elector session is gone, so it is listed as gone at once, not as a standby until
    // a lease has passed since it last checked in.
    const listed = await b.elector.leaders();
    expect(listed.map((l) => [l.id, l.role])).toEqual([
      ['a', 'gone'],
      ['b', 'active'],
    ]);
    // a cannot renew: it steps down by its own deadline (fencing covers the overlap).
    await until(() => a.seen.events.some((e) => e.startsWith('deposed')), 'a deposed');
    expect(a.seen.events.at(-1)).toMatch(
      /^deposed 1: the lease was not renewed before its deadline/,
    );
    expect(performance.now() - cutAt).toBeLessThan(TIMING.leaseMs + 1_000);
    // What a refusal will say: it cannot reach its database, and why.
    await until(() => a.seen.trouble !== undefined, 'a reporting database trouble');
    expect(a.seen.trouble).toMatch(/not permitted to log in|terminat|connection/i);
    expect(b.seen.trouble).toBeUndefined();
  });

  it('waits out the lease of a leader whose session is alive but which stopped renewing', async () => {
    const schema = testSchema();
    await (await PostgresTaskStore.open({ url: TEST_DATABASE_URL, schema })).close(); // migrated
    // A frozen leader c, as the database sees it: its elector session open and idle, and a
    // lease it will not renew.
    const frozen = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      application_name: electorSessionName('c'),
    });
    await frozen.connect();
    try {
      await queryTestDatabase(
        `INSERT INTO ${pg.escapeIdentifier(schema)}.leader_lease
           (term, holder, address, acquired_at, renewed_at, expires_at)
         VALUES (7, 'c', 'c:1', now(), now(), now() + interval '1500 milliseconds')`,
      );
      // 1.5 s, not one lease of the test's timing: b must get to see c's lease before it
      // runs out, and under a loaded CI a new connection alone can take 400 ms.
      const startedAt = performance.now();
      const b = start('b', schema);
      await until(() => b.seen.leader?.id === 'c', 'b sees c');
      await until(() => b.seen.elected.length === 1, 'b elected after the lease ran out');
      expect(b.seen.elected).toEqual([8]);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_400);
    } finally {
      await frozen.end();
    }
  });
});
