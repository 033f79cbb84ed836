import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { createPool } from '../../src/db/database.js';
import { migrate, pendingMigrations } from '../../src/db/migrator.js';

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
