import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PG_SCHEMA_VERSION } from '../../../../src/scheduler/store/postgres-schema.js';
import { PostgresTaskStore, redactUrl } from '../../../../src/scheduler/store/postgres-store.js';
import { StoreOpenError } from '../../../../src/scheduler/store/store.js';
import {
  dropTestSchemas,
  queryTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from '../../../helpers/pg-schema.js';
import { taskRecord } from '../../../helpers/task-record.js';

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

  it('writes a large group in one transaction across several statements', async () => {
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
});
