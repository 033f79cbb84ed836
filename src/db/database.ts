import { createHash } from 'node:crypto';
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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
}

/** A statement name derived from its text, so the same text is prepared once per connection. */
function statementName(text: string): string {
  return `k${createHash('sha1').update(text).digest('hex')}`;
}

/**
 * The pool as Kysely sees it: every parameterized statement runs as a named (prepared) statement,
 * planned once per connection. Planning a statement like the sign-up CTE costs more than running it
 * (measured: 0.86 -> 0.47 ms of PostgreSQL CPU). Statements without parameters (BEGIN, COMMIT) run as they are.
 */
function preparingPool(pool: pg.Pool): pg.Pool {
  const connect = async () => {
    const client = await pool.connect();
    return new Proxy(client, {
      get(target, property) {
        if (property === 'query') {
          return (text: unknown, values?: unknown[]) =>
            typeof text === 'string' && values && values.length > 0
              ? target.query({ name: statementName(text), text, values })
              : target.query(text as string, values);
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { connect, end: () => pool.end() } as unknown as pg.Pool;
}
