import { sql } from 'kysely';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { concurrently, PASSWORD, register, sessionCookie, signUpVerified, statusCounts, uniqueEmail } from '../helpers/factories.js';

t.test('a registration creates account, initialised workspace, owner membership, progress, token and the email job, and signs in', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail();
  const response = await register(ctx.app, { email, name: '  Ada  ', workspaceName: ' Acme ' });
  t.equal(response.statusCode, 201);
  const body = response.json();
  t.match(body, {
    account: { id: String, email, name: 'Ada', emailVerified: false },
    workspace: { id: String, name: 'Acme', plan: 'trial', trialEndsAt: null, trialState: 'pending_verification', initializedAt: String },
  });
  const cookie = response.cookies.find((c) => c.name === 'sid')!;
  t.ok(cookie.httpOnly, 'cookie is HttpOnly');
  t.equal(cookie.sameSite, 'Lax');
  t.notOk(cookie.secure, 'not Secure on an http base URL');

  const db = ctx.runtime.db;
  const member = await db.selectFrom('workspace_members').selectAll().executeTakeFirstOrThrow();
  t.match(member, { workspace_id: body.workspace.id, account_id: body.account.id, role: 'owner' });
  const progress = await db.selectFrom('onboarding_progress').selectAll().executeTakeFirstOrThrow();
  t.same(progress.completed_steps, []);
  const verification = await db.selectFrom('email_verifications').selectAll().executeTakeFirstOrThrow();
  t.equal(verification.token_hash.length, 32, 'only a SHA-256 hash is stored');
  const jobs = await sql<{ task_identifier: string }>`select task_identifier from graphile_worker.jobs order by id`.execute(db);
  t.same(jobs.rows.map((j) => j.task_identifier), ['send_verification_email'], 'no initialisation job: WORKSPACE_PROVISION_URL is unset');
  const workspace = await db.selectFrom('workspaces').select(['settings', 'initialized_at']).executeTakeFirstOrThrow();
  t.match(workspace.settings, { locale: 'en', timezone: 'UTC' }, 'default settings, written by the sign-up statement');
  t.equal(workspace.initialized_at!.toISOString(), body.workspace.initializedAt);
  const events = await sql<{ type: string }>`select type from events order by sequence`.execute(db);
  t.same(events.rows.map((e) => e.type), ['account.registered', 'workspace.created', 'workspace.initialized']);
  const account = await db.selectFrom('accounts').select('password_hash').executeTakeFirstOrThrow();
  t.match(account.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'argon2id with the required parameters');

  const me = await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: sessionCookie(response) } });
  t.equal(me.statusCode, 200, 'the session cookie signs the new account in');
});

t.test('invalid registrations answer 400 with field errors and create nothing', async (t) => {
  const ctx = await testContext(t);
  const cases: [string, Record<string, unknown>, string][] = [
    ['malformed email', { email: 'not-an-email' }, 'email'],
    ['email over 254 characters', { email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com` }, 'email'],
    ['short password', { password: 'short' }, 'password'],
    ['long password', { password: 'x'.repeat(257) }, 'password'],
    ['blank name', { name: '    ' }, 'name'],
    ['name over 100 after trimming', { name: 'n'.repeat(101) }, 'name'],
    ['blank workspace name', { workspaceName: '' }, 'workspaceName'],
    ['missing workspace name', { workspaceName: undefined }, 'workspaceName'],
    ['name not a string', { name: 42 }, 'name'],
  ];
  for (const [label, override, field] of cases) {
    const response = await register(ctx.app, override);
    t.equal(response.statusCode, 400, label);
    t.match(response.headers['content-type'], /^application\/problem\+json/, `${label}: problem+json`);
    t.match(response.json(), { code: 'validation_failed', errors: [{ field }] }, `${label}: names the field`);
  }
  const ok = await register(ctx.app, { name: `  ${'n'.repeat(100)}  `, password: 'x'.repeat(256) });
  t.equal(ok.statusCode, 201, 'limits are inclusive and counted after trimming');
  const count = await ctx.runtime.db.selectFrom('accounts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(count.n), 1, 'only the valid registration created an account');
});

t.test('a taken email answers 409 email_taken in any letter case', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail();
  t.equal((await register(ctx.app, { email })).statusCode, 201);
  const again = await register(ctx.app, { email: email.toUpperCase() });
  t.equal(again.statusCode, 409);
  t.match(again.json(), { code: 'email_taken', detail: /already exists/ });
});

t.test('20 simultaneous registrations of one address: exactly one 201, the rest 409', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail();
  const responses = await concurrently(20, (i) => register(ctx.app, { email: i % 2 ? email.toUpperCase() : email }));
  t.same(statusCounts(responses), { 201: 1, 409: 19 });
  const accounts = await ctx.runtime.db.selectFrom('accounts').select('id').execute();
  const workspaces = await ctx.runtime.db.selectFrom('workspaces').select('id').execute();
  t.equal(accounts.length, 1);
  t.equal(workspaces.length, 1, 'the losers left no half-created workspace');
});

t.test('Idempotency-Key: a retry replays the first answer; another body is refused', async (t) => {
  const ctx = await testContext(t);
  const body = { email: uniqueEmail(), password: PASSWORD, name: 'Ada', workspaceName: 'Acme' };
  const headers = { 'idempotency-key': 'signup-123' };
  const first = await register(ctx.app, body, headers);
  const retry = await register(ctx.app, body, headers);
  t.equal(first.statusCode, 201);
  t.equal(retry.statusCode, 201, 'replayed, not 409');
  t.same(retry.json(), first.json(), 'same ids and body');
  t.ok(sessionCookie(retry), 'the replay signs in too');
  const me = await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: sessionCookie(retry) } });
  t.equal(me.json().account.id, first.json().account.id);

  const otherBody = await register(ctx.app, { ...body, workspaceName: 'Other' }, headers);
  t.equal(otherBody.statusCode, 422);
  t.match(otherBody.json(), { code: 'idempotency_key_reused' });
  const otherPassword = await register(ctx.app, { ...body, password: 'another password' }, headers);
  t.equal(otherPassword.statusCode, 422, 'a different password is a different request');

  const accounts = await ctx.runtime.db.selectFrom('accounts').select('id').execute();
  t.equal(accounts.length, 1);
});

t.test('Idempotency-Key: concurrent retries create one account and all get the same answer', async (t) => {
  const ctx = await testContext(t);
  const body = { email: uniqueEmail(), password: PASSWORD, name: 'Ada', workspaceName: 'Acme' };
  const responses = await concurrently(8, () => register(ctx.app, body, { 'idempotency-key': 'double-click' }));
  t.same(statusCounts(responses), { 201: 8 });
  t.equal(new Set(responses.map((r) => r.json().account.id)).size, 1);
  const accounts = await ctx.runtime.db.selectFrom('accounts').select('id').execute();
  t.equal(accounts.length, 1);
});

t.test('Idempotency-Key older than 24 hours is a new request', async (t) => {
  const ctx = await testContext(t);
  const headers = { 'idempotency-key': 'old-key' };
  const first = await register(ctx.app, {}, headers);
  await sql`update idempotency_keys set created_at = now() - interval '25 hours'`.execute(ctx.runtime.db);
  const second = await register(ctx.app, {}, headers);
  t.equal(second.statusCode, 201);
  t.not(second.json().account.id, first.json().account.id);
});

t.test('a failure mid-transaction leaves no row, no job and no email, and the 500 reveals nothing', async (t) => {
  const ctx = await testContext(t);
  // A real database failure after the account and workspace were inserted.
  await sql`create function fail_progress() returns trigger language plpgsql as $$
    begin raise exception 'injected failure in onboarding_progress'; end $$`.execute(ctx.runtime.db);
  await sql`create trigger fail_progress before insert on onboarding_progress for each row execute function fail_progress()`.execute(ctx.runtime.db);

  const email = uniqueEmail();
  const response = await register(ctx.app, { email });
  t.equal(response.statusCode, 500);
  t.match(response.headers['content-type'], /^application\/problem\+json/);
  t.match(response.json(), { code: 'internal_error' });
  t.notMatch(response.body, /injected|onboarding_progress|trigger/, 'no internals in the answer');

  const db = ctx.runtime.db;
  for (const table of ['accounts', 'workspaces', 'workspace_members', 'email_verifications', 'sessions', 'audit_events'] as const) {
    const rows = await db.selectFrom(table).selectAll().execute();
    t.equal(rows.length, 0, `no row in ${table}`);
  }
  const jobs = await sql`select 1 from graphile_worker.jobs`.execute(db);
  t.equal(jobs.rows.length, 0, 'no job');
  await ctx.runJobs();
  t.equal(ctx.smtp.to(email).length, 0, 'no email');
});

t.test('a one-call registration puts the workspace on the first free plan of PLANS, and verifying starts that plan\'s trial', async (t) => {
  const plans = [
    { id: 'scale', name: 'Scale', priceId: 'price_scale', trialDays: 14, requiresPaymentMethod: true },
    { id: 'starter', name: 'Starter', priceId: null, trialDays: 21, requiresPaymentMethod: false },
  ];
  const ctx = await testContext(t, { env: { PLANS: JSON.stringify(plans) } });
  const answer = await register(ctx.app, {});
  t.equal(answer.statusCode, 201);
  t.equal(answer.json().workspace.plan, 'starter', 'not the column default "trial", which this deployment does not offer');
  const event = await ctx.runtime.db.selectFrom('events').select('data').where('type', '=', 'workspace.created').executeTakeFirstOrThrow();
  t.equal((event.data as { plan: string }).plan, 'starter', 'and its workspace.created event says so');
  const verified = await signUpVerified(ctx);
  const { trial_ends_at: ends, created_at: created } = await ctx.runtime.db.selectFrom('workspaces').select(['trial_ends_at', 'created_at']).where('id', '=', verified.workspaceId).executeTakeFirstOrThrow();
  const days = (ends!.getTime() - created.getTime()) / 86_400_000;
  t.ok(days > 20.9 && days < 21.1, `the starter plan's 21-day trial, not TRIAL_DAYS (${days.toFixed(2)} days)`);
});
