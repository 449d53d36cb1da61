import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PG_SCHEMA_VERSION } from '../../../../src/scheduler/store/postgres-schema.js';
import { PostgresTaskStore, redactUrl } from '../../../../src/scheduler/store/postgres-store.js';
import { FencedError, StoreOpenError } from '../../../../src/scheduler/store/store.js';
import {
  dropTestSchemas,
  queryTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from '../../../helpers/pg-schema.js';
import { taskRecord } from '../../../helpers/task-record.js';
import { waitFor } from '../../../helpers/wait-for.js';

const stores: PostgresTaskStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  await dropTestSchemas();
});

async function open(schema: string): Promise<PostgresTaskStore> {
  const store = await PostgresTaskStore.open({ url: TEST_DATABASE_URL, schema });
  stores.push(store);
  return store;
}

describe('PostgresTaskStore', () => {
  it('keeps the task list and output across close and reopen', async () => {
    const schema = testSchema();
    const first = await open(schema);
    await first.save([
      taskRecord({ seq: 1 }),
      taskRecord({ seq: 2, status: 'running', attempt: 1 }),
    ]);
    await first.saveOutput([
      {
        taskSeq: 2,
        chunk: { offset: 0, attempt: 1, stream: 'stderr', data: 'x', truncated: false },
      },
    ]);
    await first.close();
    const second = await open(schema);
    expect((await second.loadAll()).map((t) => [t.id, t.status])).toEqual([
      ['t1', 'pending'],
      ['t2', 'running'],
    ]);
    expect((await second.loadOutput()).map((o) => o.chunk.data)).toEqual(['x']);
    // Rows from before the reopen change in place (updated by seq); new ones are inserted,
    // also when a lower seq comes after a higher one.
    await second.save([taskRecord({ seq: 2, status: 'completed', attempt: 1, result: 'ok' })]);
    await second.save([taskRecord({ seq: 5 })]);
    await second.save([taskRecord({ seq: 4 })]);
    expect((await second.loadAll()).map((t) => [t.id, t.status, t.result])).toEqual([
      ['t1', 'pending', undefined],
      ['t2', 'completed', 'ok'],
      ['t4', 'pending', undefined],
      ['t5', 'pending', undefined],
    ]);
  });

  it('keeps text PostgreSQL text columns refuse: U+0000 in payloads, results, errors, output', async () => {
    const store = await open(testSchema());
    const nul = 'a\u0000b "quoted" \\ {braces} é 😀';
    await store.save([taskRecord({ seq: 1, payload: nul, result: nul, error: nul })]);
    await store.saveOutput([
      {
        taskSeq: 1,
        chunk: { offset: 0, attempt: 1, stream: 'stdout', data: nul, truncated: false },
      },
    ]);
    const [task] = await store.loadAll();
    expect([task!.payload, task!.result, task!.error]).toEqual([nul, nul, nul]);
    expect((await store.loadOutput())[0]!.chunk.data).toBe(nul);
  });

  it('keeps text that array literals quote: quotes, backslashes, braces, commas, NULL, empty', async () => {
    const store = await open(testSchema());
    const awkward = [
      'NULL',
      '',
      '{"a": [1, 2]}',
      'back\\slash "quoted", \\"',
      ' lead and trail ',
      'é 😀',
    ];
    await store.save(
      awkward.map((text, i) =>
        taskRecord({
          seq: i + 1,
          id: `t"${i}\\{,}` as never,
          payload: text,
          result: text,
          error: i % 2 === 0 ? undefined : text,
          memberId: `w"{${i}}` as never,
          kind: 'a:b.c-d_e',
        }),
      ),
    );
    const loaded = await store.loadAll();
    expect(loaded.map((t) => [t.id, t.payload, t.result, t.error, t.memberId])).toEqual(
      awkward.map((text, i) => [
        `t"${i}\\{,}`,
        text,
        text,
        i % 2 === 0 ? undefined : text,
        `w"{${i}}`,
      ]),
    );
    // A row with U+0000 goes as base64 beside rows of its group that do not (payloads never
    // change after the first write; results do).
    await store.save([
      taskRecord({ seq: 7, payload: 'x\u0000y', result: 'NULL' }),
      taskRecord({ seq: 2, result: '"\\' }),
    ]);
    const again = await store.loadAll();
    expect(again.map((t) => [t.seq, t.payload, t.result]).slice(1, 2)).toEqual([[2, '', '"\\']]);
    expect(again.at(-1)).toMatchObject({ seq: 7, payload: 'x\u0000y', result: 'NULL' });
  });

  it('writes a large group in one transaction', async () => {
    const store = await open(testSchema());
    const tasks = Array.from({ length: 12_000 }, (_, i) => taskRecord({ seq: i + 1 }));
    await store.save(tasks);
    const loaded = await store.loadAll();
    expect(loaded).toHaveLength(12_000);
    expect(loaded.at(-1)).toEqual(tasks.at(-1));
  });

  it('applies each migration once, also when leaders open the same schema together', async () => {
    const schema = testSchema();
    await Promise.all([open(schema), open(schema), open(schema)]);
    const rows = await queryTestDatabase<{ version: number }>(
      `SELECT version FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual(
      Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });

  it('refuses a schema written by a newer drover and leaves it as it was', async () => {
    const schema = testSchema();
    await (await open(schema)).close();
    const s = pg.escapeIdentifier(schema);
    await queryTestDatabase(`INSERT INTO ${s}.migrations (version, name) VALUES (99, 'future')`);
    const error = await PostgresTaskStore.open({ url: TEST_DATABASE_URL, schema }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StoreOpenError);
    expect(String(error)).toMatch(/version 99, written by a newer drover/);
    const rows = await queryTestDatabase(`SELECT version FROM ${s}.migrations`);
    expect(rows).toHaveLength(PG_SCHEMA_VERSION + 1);
  });

  it('refuses a database not encoded UTF8, saying how to fix it, and creates nothing there', async () => {
    const name = `drover_latin1_${process.pid}`;
    await queryTestDatabase(`DROP DATABASE IF EXISTS ${name}`);
    await queryTestDatabase(
      `CREATE DATABASE ${name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    );
    try {
      const url = TEST_DATABASE_URL.replace(/\/[^/]*$/, `/${name}`);
      const opened = PostgresTaskStore.open({ url, schema: 'drover' });
      await expect(opened).rejects.toThrow(StoreOpenError);
      await expect(opened).rejects.toThrow(/encoded LATIN1; drover needs UTF8/);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "SELECT 1 FROM information_schema.schemata WHERE schema_name = 'drover'",
        );
        expect(rows).toEqual([]);
      } finally {
        await client.end();
      }
    } finally {
      await queryTestDatabase(`DROP DATABASE IF EXISTS ${name}`);
    }
  });

  it('says where it could not connect, without the password', async () => {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    const url = 'postgres://drover:s3cret@127.0.0.1:1/test';
    const error = await PostgresTaskStore.open({ url }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreOpenError);
    expect(String(error)).toMatch(
      /cannot connect to PostgreSQL at postgres:\/\/drover:\*\*\*@127\.0\.0\.1:1\/test/,
    );
    expect(String(error)).not.toContain('s3cret');
    expect(redactUrl('not a url')).toBe('(an unparsable URL)');
  });

  it('rejects the saves of a turn whose connection was lost, and saves nothing of it', async () => {
    const schema = testSchema();
    const store = await open(schema);
    await store.save([taskRecord({ seq: 1 })]);
    // The store's own connection, found by its backend pid (other test files share the server).
    const { processID } = (store as unknown as { client: { processID: number } }).client;
    await queryTestDatabase('SELECT pg_terminate_backend($1)', [processID]);
    await expect(store.save([taskRecord({ seq: 2 })])).rejects.toThrow();
    const rows = await queryTestDatabase(`SELECT seq FROM ${pg.escapeIdentifier(schema)}.tasks`);
    expect(rows).toEqual([{ seq: '1' }]);
  });

  it('fences writes by term: once a newer leader holds the lease, a deposed one writes nothing', async () => {
    const schema = testSchema();
    await (await open(schema)).close(); // migrated
    const lease = `${pg.escapeIdentifier(schema)}.leader_lease`;
    await queryTestDatabase(
      `INSERT INTO ${lease} (term, holder, address, acquired_at, renewed_at, expires_at)
       VALUES (1, 'a', 'a:1', now(), now(), now() + interval '1 minute')`,
    );
    const old = await PostgresTaskStore.open({
      url: TEST_DATABASE_URL,
      schema,
      fence: { term: 1, holder: 'a' },
    });
    stores.push(old);
    await old.save([taskRecord({ seq: 1 })]); // its term: written
    await queryTestDatabase(`UPDATE ${lease} SET term = 2, holder = 'b'`); // b took over
    const refused = await old.save([taskRecord({ seq: 2 })]).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(FencedError);
    expect(String(refused)).toMatch(/term 1 is over: leader b holds term 2; nothing was written/);
    const newer = await PostgresTaskStore.open({
      url: TEST_DATABASE_URL,
      schema,
      fence: { term: 2, holder: 'b' },
    });
    stores.push(newer);
    expect((await newer.loadAll()).map((t) => t.id)).toEqual(['t1']);
    await newer.save([taskRecord({ seq: 3 })]);
    expect((await newer.loadAll()).map((t) => t.id)).toEqual(['t1', 't3']);
  });

  it('makes a take-over wait for a write of the old term in flight (it lands first, whole)', async () => {
    const schema = testSchema();
    await (await open(schema)).close();
    const lease = `${pg.escapeIdentifier(schema)}.leader_lease`;
    await queryTestDatabase(
      `INSERT INTO ${lease} (term, holder, address, acquired_at, renewed_at, expires_at)
       VALUES (1, 'a', 'a:1', now(), now(), now() + interval '1 minute')`,
    );
    const store = await PostgresTaskStore.open({
      url: TEST_DATABASE_URL,
      schema,
      fence: { term: 1, holder: 'a' },
    });
    stores.push(store);
    // A transaction that holds the lease row as a write of term 1 does, until told to end.
    const writer = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`SELECT term FROM ${lease} WHERE id = 1 FOR SHARE`);
      const takeover = queryTestDatabase(
        `UPDATE ${lease} SET term = 2, holder = 'b' RETURNING term`,
      );
      const order: string[] = [];
      void takeover.then(() => order.push('takeover'));
      // The take-over is seen waiting on the lock the write holds; only then does it commit.
      await waitFor(
        async () =>
          (
            await queryTestDatabase(
              `SELECT pid FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE ' || $1 || '%'`,
              [lease],
            )
          ).length === 1 || undefined,
        { timeoutMs: 5_000, what: 'the take-over waiting on the lease row' },
      );
      expect(order).toEqual([]);
      order.push('write committed');
      await writer.query('COMMIT');
      expect(await takeover).toEqual([{ term: '2' }]);
      expect(order).toEqual(['write committed', 'takeover']);
    } finally {
      await writer.end();
    }
  });

  it('has PostgreSQL end its session when a write sits idle in its transaction (a frozen leader)', async () => {
    const store = await PostgresTaskStore.open({
      url: TEST_DATABASE_URL,
      schema: testSchema(),
      idleInTransactionTimeoutMs: 300,
    });
    stores.push(store);
    const { client } = store as unknown as { client: pg.Client };
    const { rows } = await client.query<{ idle_in_transaction_session_timeout: string }>(
      'SHOW idle_in_transaction_session_timeout',
    );
    expect(rows[0]!.idle_in_transaction_session_timeout).toBe('300ms');
  });
});
