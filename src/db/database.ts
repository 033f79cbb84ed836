import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { AppError } from '../errors.js';
import { isConnectionFailure, isQueryCanceled } from './pg-errors.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
/** The whole database, or one open transaction on it: repositories accept either. */
export type Db = Kysely<Database>;
/** A function that says it needs a transaction takes this. */
export type Tx = Transaction<Database>;

/** How long a request waits for a connection (a free one, or a new one) before it is answered 503. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A connection pool with the listeners graphile-worker and idle-client errors require. With a
 * statement timeout, PostgreSQL cancels any statement that runs (or waits for a lock) longer, so a
 * stuck statement cannot hold a connection and its request forever.
 */
export function createPool(connectionString: string, max = 20, statementTimeoutMs = 0): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Opens `count` connections now and keeps them open (`min`): a service that takes traffic right after
 * start would otherwise open them under its first requests, each paying a new server process and
 * its SCRAM authentication while those requests wait; and the pool's idle timeout would close them
 * again after every quiet spell.
 */
export async function warmPool(pool: pg.Pool, count: number): Promise<void> {
  pool.options.min = Math.min(count, pool.options.max);
  const clients = await Promise.all(Array.from({ length: pool.options.min }, () => pool.connect()));
  for (const client of clients) client.release();
}

/**
 * Kysely over an existing pool; the pool's owner closes it. `preparedStatements: false` is for a
 * pool behind a transaction pooler (PgBouncer before 1.21), where a statement prepared on one server
 * connection is missing on the next: statements then run unnamed (planned every time).
 */
export function createDb(pool: pg.Pool, options: { preparedStatements?: boolean } = {}): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool, options.preparedStatements ?? true) }) });
}

/**
 * Put first in a statement's text to run it unnamed even where statements are prepared: PostgreSQL
 * plans an unnamed statement for the values it is bound to, on every call ("one-shot" plans; see
 * PostgreSQL's protocol docs, Extended Query). For statements whose best plan depends on their
 * values, where a prepared statement's generic plan would be cheap for some values and ruinous for
 * others. Costs a planning per call.
 */
export const PLANNED_PER_CALL = '/* planned per call */';

/** A statement name derived from its text, so the same text is prepared once per connection. */
function statementName(text: string): string {
  return `k${createHash('sha1').update(text).digest('hex')}`;
}

/**
 * The pool as Kysely sees it: with `prepare`, every parameterized statement runs as a named (prepared) statement,
 * planned once per connection. Planning a statement like the sign-up CTE costs more than running it
 * (measured: 0.86 -> 0.47 ms of PostgreSQL CPU). Statements without parameters (BEGIN, COMMIT), and those
 * that start with PLANNED_PER_CALL, run unnamed.
 * A statement cancelled by the statement timeout, or a database out of reach, becomes a 503 the
 * client may retry.
 */
function preparingPool(pool: pg.Pool, prepare: boolean): pg.Pool {
  const connect = async () => {
    const client = await pool.connect().catch(unavailable);
    return new Proxy(client, {
      get(target, property) {
        if (property === 'query') {
          return (text: unknown, values?: unknown[]) =>
            (prepare && typeof text === 'string' && values && values.length > 0 && !text.startsWith(PLANNED_PER_CALL)
              ? target.query({ name: statementName(text), text, values })
              : target.query(text as string, values)
            ).catch(unavailable);
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { connect, end: () => pool.end() } as unknown as pg.Pool;
}

/** Rethrows `error`, as a 503 the client may retry when the database timed out or is out of reach. */
function unavailable(error: unknown): never {
  if (isQueryCanceled(error)) {
    throw new AppError('temporarily_unavailable', 'The service is busy and could not finish this request in time. Please try again in a moment.', {
      retryAfterSeconds: 2,
    });
  }
  if (isConnectionFailure(error)) {
    throw new AppError('temporarily_unavailable', 'The service cannot reach its database right now. Please try again in a moment.', {
      retryAfterSeconds: 5,
    });
  }
  throw error;
}
