import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

const DB = 'postgres://app@pgbouncer.internal:6432/onboarding';
const DIRECT = 'postgres://app@db.internal:5432/onboarding';

t.test('operations settings: metrics off, no pooler, prepared statements on by default', async (t) => {
  t.match(loadConfig({}), { metricsToken: undefined, metricsPort: undefined, metricsHost: '127.0.0.1', directDatabaseUrl: undefined, databasePreparedStatements: true });
  t.match(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0', METRICS_TOKEN: 'm'.repeat(32) }), { metricsPort: 9464, metricsHost: '0.0.0.0', metricsToken: 'm'.repeat(32) });
});

t.test('DIRECT_DATABASE_URL marks DATABASE_URL as a pooler: prepared statements off unless asked for', async (t) => {
  t.match(loadConfig({ DATABASE_URL: DB, DIRECT_DATABASE_URL: DIRECT }), { databaseUrl: DB, directDatabaseUrl: DIRECT, databasePreparedStatements: false });
  t.equal(loadConfig({ DATABASE_URL: DB, DIRECT_DATABASE_URL: DIRECT, DATABASE_PREPARED_STATEMENTS: 'true' }).databasePreparedStatements, true, 'PgBouncer 1.21+ can carry them');
  t.equal(loadConfig({ DATABASE_URL: DB, DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements, false);
});

t.test('bad operations settings are named', async (t) => {
  const error = t.throws(() =>
    loadConfig({ DIRECT_DATABASE_URL: DIRECT, METRICS_TOKEN: 'too-short', METRICS_PORT: '0', DATABASE_PREPARED_STATEMENTS: 'sometimes' }),
  ) as ConfigError;
  for (const name of ['DIRECT_DATABASE_URL needs DATABASE_URL', 'METRICS_TOKEN', 'METRICS_PORT', 'DATABASE_PREPARED_STATEMENTS']) {
    t.ok(error.problems.some((p) => p.startsWith(name)), `names ${name}`);
  }
  t.throws(() => loadConfig({ DATABASE_URL: DB, DIRECT_DATABASE_URL: 'mysql://db/x' }), ConfigError);
});
