import t from 'tap';
import { testContext } from '../helpers/app.js';
import { signUpVerified } from '../helpers/factories.js';
import { pgbouncerBinary, startPgBouncer } from '../helpers/pgbouncer.js';

const STEPS = ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import'];

t.test('through PgBouncer in transaction pooling: registration, confirmation, onboarding saves, and cache invalidation across instances', async (t) => {
  const binary = pgbouncerBinary();
  if (!binary) {
    // Not a skip: CI installs it (.ci/run), so its absence is a broken setup.
    t.fail('pgbouncer is not installed: run `apt-get install -y pgbouncer` (.ci/run does), or set PGBOUNCER_BIN.');
    return;
  }
  const bouncer = await startPgBouncer(t, binary);
  const ctx = await testContext(t, {
    env: (directUrl) => ({ DATABASE_URL: bouncer.urlFor(directUrl), DIRECT_DATABASE_URL: directUrl, ONBOARDING_STATUS_CACHE_SECONDS: '3600' }),
    captureLogs: true,
  });
  t.match(ctx.logs(), 'the server has no statement_timeout', 'the timeout PgBouncer cannot carry is missed out loud');
  const database = new URL(ctx.databaseUrl).pathname.slice(1);
  t.equal(ctx.config.databasePreparedStatements, false, 'no named prepared statements behind a pooler, unless asked for');
  const other = await ctx.secondInstance();

  // Registration, then the verification email (the worker runs on the direct connection) and its confirmation.
  const owner = await signUpVerified(ctx);
  const base = `/v1/workspaces/${owner.workspaceId}/onboarding`;
  const save = await ctx.app.inject({ method: 'PATCH', url: `${base}/draft`, headers: { cookie: owner.cookie }, payload: { data: { company: 'Acme' }, version: 0 } });
  t.equal(save.statusCode, 200, 'an onboarding save');
  const resumed = await other.app.inject({ method: 'GET', url: base, headers: { cookie: owner.cookie } });
  t.match(resumed.json(), { data: { company: 'Acme' }, version: 1 }, 'read back through the other instance');

  const status = () => other.app.inject({ method: 'GET', url: '/v1/me/onboarding-status', headers: { cookie: owner.cookie } });
  t.equal((await status()).json().workspaces[0].status, 'in_progress', 'cached by the other instance');
  for (const step of STEPS) {
    t.equal((await ctx.app.inject({ method: 'PUT', url: `${base}/steps/${step}`, headers: { cookie: owner.cookie } })).statusCode, 200);
  }
  let seen = 'in_progress';
  for (let i = 0; i < 100 && seen !== 'completed'; i++) {
    seen = (await status()).json().workspaces[0].status;
    if (seen !== 'completed') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(seen, 'completed', 'the NOTIFY sent in a pooled transaction reached the other instance, listening on its direct connection');
  t.ok((await bouncer.transactions(database)) >= 20, 'request traffic went through PgBouncer');
});
