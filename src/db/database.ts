import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
/** The whole database, or one open transaction on it: repositories accept either. */
export type Db = Kysely<Database>;
/** A function that says it needs a transaction takes this. */
export type Tx = Transaction<Database>;

/** A connection pool with the listeners graphile-worker and idle-client errors require. */
export function createPool(connectionString: string, max = 20): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Kysely over an existing pool; the pool's owner closes it. */
export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
