import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberId, TaskId } from '../../../../src/shared/ids.js';
import { MemoryTaskStore } from '../../../../src/scheduler/store/memory-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../../src/scheduler/store/sqlite-schema.js';
import { DATABASE_FILE, SqliteTaskStore } from '../../../../src/scheduler/store/sqlite-store.js';
import { StoreOpenError, type TaskStore } from '../../../../src/scheduler/store/store.js';
import type { TaskRecord } from '../../../../src/scheduler/task.js';
import { taskRecord } from '../../../helpers/task-record.js';
import { dropTestSchemas, TEST_DATABASE_URL, testSchema } from '../../../helpers/pg-schema.js';
import { PostgresTaskStore } from '../../../../src/scheduler/store/postgres-store.js';

const dirs: string[] = [];
const stores: TaskStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await dropTestSchemas();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-store-'));
  dirs.push(dir);
  return dir;
}

/** A record as the store tests save it: a non-ASCII payload, created at 1 000 ms + seq. */
function record(seq: number, fields: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord({ seq, payload: `payload ${seq} é`, createdAtMs: 1_000 + seq, ...fields });
}

const kinds: [string, () => TaskStore | Promise<TaskStore>][] = [
  ['memory', () => new MemoryTaskStore()],
  ['sqlite', () => new SqliteTaskStore({ dataDir: tempDir() })],
  ['postgres', () => PostgresTaskStore.open({ url: TEST_DATABASE_URL, schema: testSchema() })],
];

describe.each(kinds)('TaskStore contract: %s', (_name, make) => {
  it('gives back every saved field, in creation order, latest version of each', async () => {
    const store = await make();
    stores.push(store);
    const finished = record(2, {
      status: 'error',
      attempt: 3,
      memberId: 'w1' as MemberId,
      targetMemberId: 'w1' as MemberId,
      priority: 'high',
      kind: 'resize',
      result: 'partial output',
      error: 'boom',
      queueSeq: -4,
      startedAtMs: 5_000,
      finishedAtMs: 6_000,
      maxAttempts: 3,
      retryBackoffMs: 0,
      timeoutMs: 250,
    });
    const retrying = record(3, {
      status: 'pending',
      attempt: 1,
      memberId: 'w2' as MemberId,
      error: 'attempt 1 timed out after 250 ms',
      attemptEnded: true,
      retryAtMs: 9_000,
      maxAttempts: 7,
    });
    await store.save([record(3, { maxAttempts: 7 }), record(1)]);
    await store.save([finished]);
    await store.save([retrying]);
    expect(await store.loadAll()).toEqual([record(1), finished, retrying]);
  });

  it('keeps a delayed task with its run time and idempotency key, which stay once it is queued', async () => {
    const store = await make();
    stores.push(store);
    const scheduled = record(1, {
      status: 'scheduled',
      queueSeq: 0,
      runAtMs: 86_400_000,
      idempotencyKey: 'order:42/é',
      idempotencyExpiresAtMs: 90_000_000,
    });
    await store.save([scheduled]);
    expect(await store.loadAll()).toEqual([scheduled]);
    const due = { ...scheduled, status: 'pending' as const, queueSeq: 7 };
    await store.save([due]);
    expect(await store.loadAll()).toEqual([due]);
  });

  it("keeps a task's concurrency key, which stays through its changes (issue #18)", async () => {
    const store = await make();
    stores.push(store);
    const keyed = record(1, { concurrencyKey: 'customer:42' });
    await store.save([keyed]);
    const running = { ...keyed, status: 'running' as const, attempt: 1 };
    await store.save([running, record(2)]);
    expect(await store.loadAll()).toEqual([running, record(2)]);
  });

  it('writes new rows out of seq order and changes them after, across a reopen too', async () => {
    const store = await make();
    stores.push(store);
    await store.save([record(5)]);
    await store.save([record(4)]);
    await store.save([record(4, { status: 'running', attempt: 1 })]);
    expect((await store.loadAll()).map((t) => [t.seq, t.status])).toEqual([
      [4, 'running'],
      [5, 'pending'],
    ]);
  });

  it('keeps what was saved, not later changes to the same objects', async () => {
    const store = await make();
    stores.push(store);
    const task = record(1);
    const saved = store.save([task]);
    task.status = 'running';
    await saved;
    expect((await store.loadAll())[0]!.status).toBe('pending');
  });

  it('resolves every save of one turn together', async () => {
    const store = await make();
    stores.push(store);
    await Promise.all([store.save([record(1)]), store.save([record(2)]), store.save([])]);
    expect((await store.loadAll()).map((r) => r.id)).toEqual(['t1', 't2']);
  });

  it('removes pruned tasks and nothing else, also when saved in the same turn', async () => {
    const store = await make();
    stores.push(store);
    await store.save([record(1), record(2), record(3)]);
    const late = record(4);
    await Promise.all([store.save([late]), store.remove([record(2), late])]);
    expect((await store.loadAll()).map((r) => r.id)).toEqual(['t1', 't3']);
  });
});

describe.each(kinds)('TaskStore controls: %s', (_name, make) => {
  it('sets, replaces and deletes controls, the last change of a key in a turn winning', async () => {
    const store = await make();
    stores.push(store);
    await store.saveControls([
      { key: 'pause/kind/b', value: '{"sinceMs":1}' },
      { key: 'pause/kind/a', value: '{"sinceMs":2}' },
    ]);
    await Promise.all([
      store.saveControls([{ key: 'pause/kind/b', value: undefined }]),
      store.saveControls([{ key: 'pause/kind/c', value: '{"é":"\\u0000"}' }]),
      store.saveControls([{ key: 'pause/kind/a', value: '{"sinceMs":3}' }]),
    ]);
    expect(await store.loadControls()).toEqual([
      { key: 'pause/kind/a', value: '{"sinceMs":3}' },
      { key: 'pause/kind/c', value: '{"é":"\\u0000"}' },
    ]);
    await store.saveControls([{ key: 'pause/kind/none', value: undefined }]);
    expect((await store.loadControls()).map((c) => c.key)).toEqual([
      'pause/kind/a',
      'pause/kind/c',
    ]);
  });
});

describe.each(kinds)('TaskStore output: %s', (_name, make) => {
  const chunk = (offset: number, data: string, truncated = false) => ({
    offset,
    attempt: 1,
    stream: 'stdout',
    data,
    truncated,
  });

  it('gives back output chunks by task and offset, and drops a removed task’s output', async () => {
    const store = await make();
    stores.push(store);
    await store.save([record(1), record(2)]);
    await Promise.all([
      store.saveOutput([{ taskSeq: 2, chunk: chunk(0, 'b0') }]),
      store.saveOutput([
        { taskSeq: 1, chunk: chunk(0, 'a0') },
        { taskSeq: 1, chunk: chunk(2, 'é1') },
      ]),
    ]);
    await store.saveOutput([{ taskSeq: 1, chunk: chunk(4, '[cut]', true) }]);
    expect(await store.loadOutput()).toEqual([
      { taskSeq: 1, chunk: chunk(0, 'a0') },
      { taskSeq: 1, chunk: chunk(2, 'é1') },
      { taskSeq: 1, chunk: chunk(4, '[cut]', true) },
      { taskSeq: 2, chunk: chunk(0, 'b0') },
    ]);
    // Output saved in the same turn as its task's removal goes too.
    await Promise.all([
      store.saveOutput([{ taskSeq: 2, chunk: chunk(2, 'b1') }]),
      store.remove([record(2)]),
    ]);
    expect((await store.loadOutput()).map((o) => o.taskSeq)).toEqual([1, 1, 1]);
  });
});

describe('SqliteTaskStore', () => {
  it('keeps the task list across close and reopen', async () => {
    const dataDir = tempDir();
    const first = new SqliteTaskStore({ dataDir });
    await first.save([record(1), record(2, { status: 'completed', result: 'ok' })]);
    await first.close();
    const second = new SqliteTaskStore({ dataDir, sync: 'normal' });
    stores.push(second);
    expect(await second.loadAll()).toEqual([
      record(1),
      record(2, { status: 'completed', result: 'ok' }),
    ]);
  });

  it('refuses a directory another store holds, without touching it', async () => {
    const dataDir = tempDir();
    const holder = new SqliteTaskStore({ dataDir });
    stores.push(holder);
    await holder.save([record(1)]);
    expect(() => new SqliteTaskStore({ dataDir })).toThrow(
      new StoreOpenError(
        `${join(dataDir, DATABASE_FILE)} is locked by another process (is another leader using this --data-dir?)`,
      ),
    );
    await holder.save([record(2)]);
    expect((await holder.loadAll()).map((r) => r.id)).toEqual(['t1', 't2']);
  });

  it('refuses a file that is not a database and leaves it as it was', () => {
    const dataDir = tempDir();
    const file = join(dataDir, DATABASE_FILE);
    const garbage = Buffer.from(
      'this is not an SQLite database, but it is long enough. '.repeat(200),
    );
    writeFileSync(file, garbage);
    expect(() => new SqliteTaskStore({ dataDir })).toThrow(
      /is not a drover database or is corrupt/,
    );
    expect(readFileSync(file).equals(garbage)).toBe(true);
  });

  it("refuses an SQLite file that is not drover's and leaves it as it was", () => {
    const dataDir = tempDir();
    const file = join(dataDir, DATABASE_FILE);
    const db = new Database(file);
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)');
    db.close();
    const before = readFileSync(file);
    expect(() => new SqliteTaskStore({ dataDir })).toThrow(
      /is an SQLite database but not drover's/,
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a schema newer than this version and leaves the file as it was', () => {
    const dataDir = tempDir();
    const file = join(dataDir, DATABASE_FILE);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = readFileSync(file);
    expect(() => new SqliteTaskStore({ dataDir })).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}, written by a newer drover`),
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('migrates a version 1 file forward and keeps its tasks', async () => {
    const dataDir = tempDir();
    const db = new Database(join(dataDir, DATABASE_FILE));
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO tasks (id, seq, queue_seq, kind, payload, priority, status, attempt,
         created_at_ms, finished_at_ms, result)
       VALUES ('old', 1, 1, 'default', 'x', 'low', 'completed', 1, 10, 20, 'done')`,
    ).run();
    db.close();
    const store = new SqliteTaskStore({ dataDir });
    stores.push(store);
    expect(await store.loadAll()).toEqual([
      record(1, {
        id: 'old' as TaskId,
        payload: 'x',
        priority: 'low',
        status: 'completed',
        attempt: 1,
        createdAtMs: 10,
        finishedAtMs: 20,
        result: 'done',
      }),
    ]);
    await store.close();
    stores.pop();
    const check = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(
      check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'")
        .all(),
    ).toEqual([]); // no index on id (version 3) nor on finished_at_ms (version 8)
    check.close();
  });
});
