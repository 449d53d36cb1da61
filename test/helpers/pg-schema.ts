import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL every machine (CI's included) runs on loopback: trust auth, database
 * `test`. DROVER_TEST_DATABASE_URL points the tests elsewhere.
 */
export const TEST_DATABASE_URL =
  process.env.DROVER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const made: string[] = [];

/**
 * A schema name of this test's own (`drover_test_<random>`), so parallel test files and
 * runs never share tables. Drop them with {@link dropTestSchemas} in afterEach/afterAll.
 */
export function testSchema(): string {
  const schema = `drover_test_${randomBytes(6).toString('hex')}`;
  made.push(schema);
  return schema;
}

/** A leader's flags for the PostgreSQL store on a schema of this test's own (testSchema). */
export function postgresStoreArgs(): string[] {
  return [
    '--store',
    'postgres',
    '--database-url',
    TEST_DATABASE_URL,
    '--database-schema',
    testSchema(),
  ];
}

/** Drops every schema {@link testSchema} made in this file so far. */
export async function dropTestSchemas(): Promise<void> {
  const schemas = made.splice(0);
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas) {
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    }
  } finally {
    await client.end();
  }
}

/** Runs one query on the test database (to inspect or tamper with a store's tables). */
export async function queryTestDatabase<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
