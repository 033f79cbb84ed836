import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, runMigrations as runWorkerMigrations } from 'graphile-worker';
import type pg from 'pg';

/** Where the numbered SQL migrations live. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
// Any fixed number works; it only has to be the same in every instance.
export const MIGRATION_LOCK_ID = 7_316_402_118;

async function migrationFiles(): Promise<string[]> {
  const names = await readdir(MIGRATIONS_DIR);
  return names.filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort();
}

/**
 * Applies pending migrations in order, each in its own transaction, under an advisory lock so that
 * instances starting together apply each file exactly once; then lets graphile-worker migrate its schema.
 */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(
      'create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())',
    );
    const { rows } = await client.query<{ name: string }>('select name from schema_migrations');
    const done = new Set(rows.map((row) => row.name));
    for (const name of await migrationFiles()) {
      if (done.has(name)) continue;
      const sql = await readFile(path.join(MIGRATIONS_DIR, name), 'utf8');
      await client.query('begin');
      try {
        await client.query(sql);
        await client.query('insert into schema_migrations (name) values ($1)', [name]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(name);
    }
    await runWorkerMigrations({ pgPool: pool, logger: silentWorkerLogger });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    client.release();
  }
  return applied;
}

/** The migration files not yet recorded as applied; empty means the schema is current. */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const files = await migrationFiles();
  const exists = await pool.query("select to_regclass('schema_migrations') is not null as present");
  if (!exists.rows[0].present) return files;
  const { rows } = await pool.query<{ name: string }>('select name from schema_migrations');
  const done = new Set(rows.map((row) => row.name));
  return files.filter((name) => !done.has(name));
}

/** graphile-worker's migration chatter is not useful in our logs. */
const silentWorkerLogger = new Logger(() => () => {});
