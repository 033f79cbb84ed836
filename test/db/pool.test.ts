import t from 'tap';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, createPool, PLANNED_PER_CALL, warmPool } from '../../src/db/database.js';
import { createTestDatabase } from '../helpers/database.js';

/** Connections PostgreSQL has open to `database` for clients other than `observer`. */
async function serverConnections(observer: pg.Pool, database: string): Promise<number> {
  const { rows } = await observer.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  return rows[0]!.n;
}

t.test('warmPool opens its connections before the first query and keeps them past the idle timeout', async (t) => {
  const url = await createTestDatabase(t);
  const database = new URL(url).pathname.slice(1);
  const observer = new pg.Pool({ connectionString: url, max: 1 });
  t.teardown(() => observer.end());
  const pool = createPool(url, 10);
  pool.options.idleTimeoutMillis = 50;
  t.teardown(() => pool.end());

  t.equal(await serverConnections(observer, database), 0, 'a new pool opens nothing by itself');
  await warmPool(pool, 4);
  t.equal(pool.totalCount, 4, 'four clients are open');
  t.equal(pool.idleCount, 4, 'and ready for the first requests');
  t.equal(await serverConnections(observer, database), 4, 'PostgreSQL sees four sessions');

  // A burst opens more; once idle, the pool closes only those above the warm ones.
  const burst = await Promise.all(Array.from({ length: 6 }, () => pool.connect()));
  for (const client of burst) client.release();
  t.equal(pool.totalCount, 6, 'the burst used six connections');
  while (pool.totalCount > 4) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(pool.totalCount, 4, 'idle connections beyond the warm ones close, the warm ones stay');
});

t.test('warmPool never opens more than the pool allows', async (t) => {
  const url = await createTestDatabase(t);
  const pool = createPool(url, 2);
  t.teardown(() => pool.end());
  await warmPool(pool, 8);
  t.equal(pool.totalCount, 2);
});

t.test('parameterised statements are prepared once per connection, except those marked PLANNED_PER_CALL', async (t) => {
  const url = await createTestDatabase(t);
  const pool = createPool(url, 1);
  t.teardown(() => pool.end());
  const db = createDb(pool);
  const prepared = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements where ${1} = 1`.execute(db)).rows.map((row) => row.statement);

  await sql`select ${'a'}::text as value`.execute(db);
  t.ok((await prepared()).some((text) => text.includes('as value')), 'an ordinary statement is prepared (named) on its connection');

  const { rows } = await sql<{ planned_value: string }>`${sql.raw(PLANNED_PER_CALL)} select ${'b'}::text as planned_value`.execute(db);
  t.same(rows, [{ planned_value: 'b' }], 'a marked statement runs with its values');
  t.notOk((await prepared()).some((text) => text.includes('planned_value')), 'and stays unnamed: planned for its values on every call');
});
