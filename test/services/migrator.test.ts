import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { migrate, MIGRATION_LOCK_ID, pendingMigrations } from '../../src/db/migrator.js';
import { createRuntime } from '../../src/runtime.js';
import { createTestDatabase } from '../helpers/database.js';

t.test('instances migrating an empty database at once apply each migration exactly once', async (t) => {
  const name = `migrate_${randomBytes(6).toString('hex')}`;
  const adminUrl = process.env.TEST_ADMIN_URL!;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  t.teardown(async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pools = [createPool(url.toString(), 3), createPool(url.toString(), 3)];
  t.teardown(() => Promise.all(pools.map((p) => p.end())));

  t.ok((await pendingMigrations(pools[0]!)).length > 0, 'an empty database has pending migrations');
  const applied = await Promise.all(pools.map((pool) => migrate(pool)));
  t.equal(applied.flat().filter((name) => name === '0001_accounts_and_workspaces.sql').length, 1, 'applied exactly once');
  t.ok(applied[0]!.length === 0 || applied[1]!.length === 0, 'one instance applied them, the other found nothing to do');
  t.same(await pendingMigrations(pools[0]!), []);
  const { rows } = await pools[0]!.query("select to_regclass('graphile_worker.jobs') is not null as present");
  t.equal(rows[0].present, true, 'graphile-worker migrated its own schema');
});

t.test('an instance with a short statement timeout waits out another instance\'s migrations instead of failing', async (t) => {
  const databaseUrl = await createTestDatabase(t);
  const otherInstance = new pg.Client({ connectionString: databaseUrl });
  await otherInstance.connect();
  t.teardown(() => otherInstance.end());
  await otherInstance.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);

  const config = loadConfig({ DATABASE_URL: databaseUrl, SMTP_URL: 'smtp://127.0.0.1:1', DATABASE_STATEMENT_TIMEOUT_MS: '200' });
  let started = false;
  const starting = createRuntime(config, pino({ level: 'silent' })).then((runtime) => {
    started = true;
    return runtime;
  });
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.notOk(started, 'it waits for the migration lock, past its statement timeout');
  await otherInstance.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);

  const runtime = await starting;
  t.teardown(() => runtime.close());
  const { rows } = await runtime.pool.query('show statement_timeout');
  t.equal(rows[0].statement_timeout, '200ms', 'while the service itself runs with the timeout');
});
