import { sql } from 'kysely';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { concurrently, PASSWORD, register, sessionCookie, statusCounts, uniqueEmail } from '../helpers/factories.js';
import { flowApi, flowCookie, latestCode, readyFlow, startFlow, US_ADDRESS, verifiedFlow } from '../helpers/signup.js';

t.test('the whole journey on one device: start, email code, steps, complete, signed in', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const started = await api.start();
  t.equal(started.statusCode, 201);
  const cookie = started.cookies.find((c) => c.name === 'signup_flow')!;
  t.match(cookie, { httpOnly: true, sameSite: 'Lax', path: '/v1/signup-flows' });
  t.notOk(cookie.secure, 'not Secure on an http APP_BASE_URL');
  t.ok(cookie.maxAge! > 86_000 && cookie.maxAge! <= 86_400, 'Max-Age is what is left of the flow (idle life)');
  t.equal(cookie.value.length, 43, '32 random bytes, base64url');
  const hint = started.cookies.find((c) => c.name === 'signup_flow_ends')!;
  t.match(hint, { httpOnly: true, sameSite: 'Lax', path: '/signup', value: String(Math.floor(new Date(started.json().expiresAt).getTime() / 1000)) }, "the /signup page's hint: when the flow ends, nothing secret");
  t.ok(hint.maxAge! > cookie.maxAge!, 'it outlives the flow, so a late visit is told the sign-up expired');
  const flow = { cookie: flowCookie(started), id: started.json().id };
  const stored = await ctx.runtime.db.selectFrom('signup_flow_tokens').select('token_hash').executeTakeFirstOrThrow();
  t.not(stored.token_hash.toString('base64url'), cookie.value, 'only a hash is stored');
  t.match(started.json(), { status: 'in_progress', currentStep: 'email', email: null, emailVerified: false, version: 0, data: { profile: null, company: null, address: null, plan: null } });

  const email = uniqueEmail('journey');
  const set = await api.setEmail(flow, { email: email.toUpperCase(), marketingConsent: true });
  t.equal(set.statusCode, 202);
  t.match(set.json(), { email, emailVerified: false, unverifiedFields: ['email'], marketingConsent: { granted: true, textVersion: 'v1' } });
  const code = await latestCode(ctx, email);
  const row = await ctx.runtime.db.selectFrom('signup_flows').selectAll().executeTakeFirstOrThrow();
  t.not(row.code_hash, null);
  t.notOk(JSON.stringify(row).includes(code), 'the raw code is nowhere in the row');
  const jobs = await sql<{ payload: unknown }>`select payload from graphile_worker._private_jobs`.execute(ctx.runtime.db).catch(() => ({ rows: [] }));
  t.notOk(JSON.stringify(jobs.rows).includes(code), 'nor in a job payload');

  const verified = await api.verify(flow, code);
  t.equal(verified.statusCode, 200);
  t.match(verified.json(), { emailVerified: true, unverifiedFields: [], currentStep: 'profile' });

  let version = verified.json().version;
  for (const body of [
    { profile: { firstName: ' Ada ', lastName: 'Lovelace', password: PASSWORD } },
    { company: { name: 'Analytical Engines' } },
    { address: { ...US_ADDRESS, region: 'ny' } },
    { plan: { id: 'trial' } },
  ]) {
    const saved = await api.patch(flow, { version, ...body });
    t.equal(saved.statusCode, 200, saved.body);
    t.equal(saved.json().version, version + 1);
    version = saved.json().version;
  }
  const state = (await api.get(flow)).json();
  t.match(state, {
    status: 'in_progress',
    currentStep: null,
    missingFields: [],
    data: { profile: { firstName: 'Ada', lastName: 'Lovelace' }, company: { name: 'Analytical Engines' }, address: { region: 'NY', country: 'US' }, plan: { id: 'trial' } },
  });
  t.notOk(JSON.stringify(state).includes('argon2'), 'never a password hash');
  t.notOk(JSON.stringify(state).includes(PASSWORD), 'never a password');
  const hash = await ctx.runtime.db.selectFrom('signup_flows').select('password_hash').executeTakeFirstOrThrow();
  t.match(hash.password_hash, /^\$argon2id\$/, 'the password is stored as argon2id only');

  const done = await api.complete(flow);
  t.equal(done.statusCode, 201, done.body);
  const { account, workspace } = done.json();
  t.match(account, { email, name: 'Ada Lovelace', emailVerified: true });
  t.match(workspace, { name: 'Analytical Engines', plan: 'trial', trialState: 'active' });
  const cleared = done.cookies.find((c) => c.name === 'signup_flow')!;
  t.ok(cleared.value === '' || cleared.maxAge === 0 || (cleared.expires && cleared.expires.getTime() < Date.now()), 'the flow cookie is cleared');
  const clearedHint = done.cookies.find((c) => c.name === 'signup_flow_ends')!;
  t.ok(clearedHint.value === '' || (clearedHint.expires && clearedHint.expires.getTime() < Date.now()), "and the page's hint with it");
  const me = await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: sessionCookie(done) } });
  t.equal(me.statusCode, 200, 'a session is open');
  const after = (await api.get(flow)).json();
  t.match(after, { status: 'completed', currentStep: null, missingFields: [], unverifiedFields: [] }, 'read back by the cookie that completed it');
  t.same(after.steps.filter((step: { completed: boolean }) => !step.completed), [], 'every step completed, the profile too (its password hash now lives on the account)');

  const db = ctx.runtime.db;
  const accountRow = await db.selectFrom('accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
  const flowRow = await db.selectFrom('signup_flows').selectAll().executeTakeFirstOrThrow();
  t.same(accountRow.email_verified_at, flowRow.email_verified_at, 'verified at the time the code was verified');
  t.match(await db.selectFrom('profiles').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow(), {
    first_name: 'Ada', last_name: 'Lovelace', company_name: 'Analytical Engines', address_line1: '1 Main St', city: 'Albany', region: 'NY', postal_code: '12207', country: 'US',
  });
  t.match(flowRow, { account_id: account.id, workspace_id: workspace.id, password_hash: null });
  t.ok(flowRow.completed_at);
  t.ok(await db.selectFrom('workspace_members').selectAll().where('account_id', '=', account.id).where('role', '=', 'owner').executeTakeFirst());
  t.ok(await db.selectFrom('onboarding_progress').selectAll().where('workspace_id', '=', workspace.id).executeTakeFirst());
  const actions = (await db.selectFrom('audit_events').select('action').where('account_id', '=', account.id).execute()).map((e) => e.action).sort();
  t.same(actions, ['account.email_verified', 'account.registered', 'trial.started']);
  const init = await sql`select 1 from graphile_worker.jobs where task_identifier = 'initialize_workspace'`.execute(db);
  t.equal(init.rows.length, 1, 'the workspace-initialisation job is queued');
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email, password: PASSWORD } })).statusCode, 200, 'the password works');
});

t.test('no cookie or an unknown one: 401; an expired flow: 410; writes need JSON bodies', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  t.match((await ctx.app.inject({ method: 'GET', url: '/v1/signup-flows/current' })).json(), { status: 401, code: 'signup_flow_required' });
  t.equal((await api.get({ cookie: 'signup_flow=nope', id: '' })).statusCode, 401);
  t.equal((await api.patch({ cookie: 'signup_flow=nope', id: '' }, { version: 0 })).statusCode, 401);
  const form = await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' });
  t.equal(form.statusCode, 415, 'a cross-site form cannot start one');
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows' })).statusCode, 400, 'a body is required');

  const flow = await startFlow(ctx);
  await sql`update signup_flows set expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  t.match((await api.get(flow)).json(), { status: 410, code: 'signup_flow_expired' });
  t.equal((await api.patch(flow, { version: 0, company: { name: 'Late' } })).statusCode, 410);
  t.equal((await api.setEmail(flow, { email: uniqueEmail() })).statusCode, 410);
  t.equal((await api.complete(flow)).statusCode, 410);
});

t.test('a flow lives its idle time after each write, never past its maximum life', async (t) => {
  const ctx = await testContext(t, { env: { SIGNUP_FLOW_IDLE_SECONDS: '3600', SIGNUP_FLOW_MAX_SECONDS: '7200' } });
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  await sql`update signup_flows set created_at = now() - interval '6000 seconds', expires_at = now() + interval '60 seconds'`.execute(ctx.runtime.db);
  const saved = await api.patch(flow, { version: 0, company: { name: 'Acme' } });
  t.equal(saved.statusCode, 200);
  const left = (new Date(saved.json().expiresAt).getTime() - Date.now()) / 1000;
  t.ok(left > 1100 && left <= 1200, `capped by the maximum life (${left}s left)`);
  const maxAge = saved.cookies.find((c) => c.name === 'signup_flow')!.maxAge!;
  t.ok(maxAge > 1100 && maxAge <= 1200, 'the cookie follows');
});

t.test('codes: cooldown, wrong code with attemptsLeft, 5 attempts, expiry, replacement, email change', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '60' } });
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  const email = uniqueEmail('codes');
  t.equal((await api.verify(flow, '123456')).json().code, 'invalid_code', 'no code asked for yet');
  t.equal((await api.setEmail(flow, { email })).statusCode, 202);
  const again = await api.setEmail(flow, { email });
  t.equal(again.statusCode, 429);
  t.match(again.json(), { code: 'resend_too_soon' });
  t.ok(Number(again.headers['retry-after']) > 0);

  const code = await latestCode(ctx, email);
  const wrong = code === '000000' ? '111111' : '000000';
  for (let left = 4; left >= 0; left--) {
    const answer = await api.verify(flow, wrong);
    t.equal(answer.statusCode, 400);
    t.match(answer.json(), { code: 'invalid_code', attemptsLeft: left });
  }
  t.match((await api.verify(flow, code)).json(), { status: 429, code: 'too_many_attempts' }, 'the right code is dead too after 5 wrong tries');

  await sql`update signup_flows set code_sent_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  t.equal((await api.setEmail(flow, { email })).statusCode, 202, 'a new code may be asked for');
  const second = await latestCode(ctx, email);
  if (second !== code) t.equal((await api.verify(flow, code)).json().code, 'invalid_code', 'the new code replaces the old one');
  await sql`update signup_flows set code_expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  t.match((await api.verify(flow, second)).json(), { status: 410, code: 'code_expired' });

  await sql`update signup_flows set code_sent_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  await api.setEmail(flow, { email });
  t.equal((await api.verify(flow, await latestCode(ctx, email))).statusCode, 200);
  t.equal((await api.setEmail(flow, { email, marketingConsent: true })).statusCode, 202, 'the same verified address only updates consent, without a cooldown');
  t.match((await api.get(flow)).json(), { emailVerified: true, marketingConsent: { granted: true } });

  const other = uniqueEmail('changed');
  await sql`update signup_flows set code_sent_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  t.match((await api.setEmail(flow, { email: other })).json(), { email: other, emailVerified: false, unverifiedFields: ['email'] }, 'a new address clears verification');
});

t.test('a changed address gets its code at once, the same one waits the cooldown; at most 3 changes per flow within it', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '60' } });
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  t.equal((await api.setEmail(flow, { email: uniqueEmail('typo') })).statusCode, 202);
  const fixed = uniqueEmail('fixed');
  const corrected = await api.setEmail(flow, { email: fixed });
  t.equal(corrected.statusCode, 202, 'a mistyped address is corrected at once');
  t.match(corrected.json(), { email: fixed, emailVerified: false });
  t.match(await latestCode(ctx, fixed), /^\d{6}$/, 'and its code is emailed');
  t.match((await api.setEmail(flow, { email: fixed })).json(), { status: 429, code: 'resend_too_soon' }, 'the same address again waits');
  const last = uniqueEmail('last');
  for (const email of [uniqueEmail('again'), last]) t.equal((await api.setEmail(flow, { email })).statusCode, 202, 'changes 2 and 3');
  const capped = await api.setEmail(flow, { email: uniqueEmail('spray') });
  t.equal(capped.statusCode, 429, 'a fourth change within the cooldown is refused: a flow cannot mail address after address');
  t.match(capped.json(), { code: 'resend_too_soon', detail: /changed 3 times/ });
  t.ok(Number(capped.headers['retry-after']) > 0 && Number(capped.headers['retry-after']) <= 60);
  t.equal((await api.verify(flow, await latestCode(ctx, last))).statusCode, 200, 'the last accepted address keeps its code');
});

t.test('a code works SIGNUP_CODE_TTL_SECONDS after it is sent', async (t) => {
  const ctx = await testContext(t, { env: { SIGNUP_CODE_TTL_SECONDS: '120' } });
  const flow = await startFlow(ctx);
  t.equal((await flowApi(ctx).setEmail(flow, { email: uniqueEmail('ttl') })).statusCode, 202);
  const { rows } = await sql<{ ttl: number }>`select extract(epoch from code_expires_at - code_sent_at)::float8 as ttl from signup_flows`.execute(ctx.runtime.db);
  t.ok(Math.abs(rows[0]!.ttl - 120) < 1, `the code expires 120 s after it is sent (${rows[0]!.ttl} s)`);
});

t.test('a retried code job sends the same code', async (t) => {
  const ctx = await testContext(t);
  const flow = await startFlow(ctx);
  const email = uniqueEmail('retry');
  await flowApi(ctx).setEmail(flow, { email });
  const first = await latestCode(ctx, email);
  const row = await ctx.runtime.db.selectFrom('signup_flows').select(['id', 'code_number']).executeTakeFirstOrThrow();
  // As if recording the accepted send had failed: the retry cannot know the first copy arrived.
  await ctx.runtime.db.deleteFrom('email_deliveries').execute();
  await ctx.runtime.services.signupLeads.sendCode(row.id, row.code_number);
  const mails = ctx.smtp.to(email);
  t.equal(mails.length, 2);
  t.ok(mails[1]!.text.includes(first), 'the same code again');
});

t.test('verify on an address that already has an account: 409 email_taken with a sign-in hint', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail('taken');
  await register(ctx.app, { email });
  const flow = await startFlow(ctx);
  await flowApi(ctx).setEmail(flow, { email });
  const answer = await flowApi(ctx).verify(flow, await latestCode(ctx, email));
  t.equal(answer.statusCode, 409);
  t.match(answer.json(), { code: 'email_taken', signIn: '/v1/sessions' });
});

t.test('saves: every bad field listed, ISO countries, regions for US and CA, plans from configuration', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  const bad = await api.patch(flow, { version: 0, profile: { firstName: '', lastName: 'x', password: 'short' }, address: { line1: 'a', city: 'b', postalCode: 'c', country: 'XX' } });
  t.equal(bad.statusCode, 400);
  const fields = bad.json().errors.map((e: { field: string }) => e.field).sort();
  t.same(fields, ['address.country', 'profile.firstName', 'profile.password']);
  const region = await api.patch(flow, { version: 0, address: { line1: 'a', city: 'Toronto', postalCode: 'M5V 3L9', country: 'CA' }, plan: { id: 'platinum' } });
  t.same(region.json().errors.map((e: { field: string }) => e.field).sort(), ['address.region', 'plan.id']);
  t.same((await api.patch(flow, { version: 0, address: { ...US_ADDRESS, region: 'ZZ', postalCode: '1' } })).json().errors.map((e: { field: string }) => e.field).sort(), ['address.postalCode', 'address.region']);
  const huge = await api.patch(flow, { version: 0, company: { name: 'a'.repeat(5000) } });
  t.same(huge.json().errors, [{ field: 'company.name', message: 'must be 1 to 100 characters long, not counting spaces at either end' }], 'one entry per bad field, saying what is allowed');
  t.equal((await api.patch(flow, { version: 0, address: { line1: 'Quai 1', city: 'Genève', postalCode: '1201', country: 'CH' } })).statusCode, 200, 'no region needed in CH');
  t.equal((await api.patch(flow, { version: 1, address: { line1: 'a', city: 'Québec', region: 'QC', postalCode: 'G1R 4P5', country: 'CA' } })).statusCode, 200);
  t.equal((await api.patch(flow, { version: 2, address: { ...US_ADDRESS, country: 'us' } })).statusCode, 400, 'upper case codes only');

  const stale = await api.patch(flow, { version: 1, company: { name: 'Late' } });
  t.equal(stale.statusCode, 409);
  t.match(stale.json(), { code: 'version_conflict', current: { version: 2, data: { address: { region: 'QC' } } } });

  const nothing = await api.patch(flow, { version: 2 });
  t.equal(nothing.statusCode, 200, 'a save with no section is answered with the flow');
  t.equal(nothing.json().version, 2, 'and writes nothing: the version stays');
  t.equal((await api.patch(flow, { version: 1 })).statusCode, 409, 'with a stale version it is a conflict like any save');

  const jp = await api.patch(flow, { version: 2, address: { line1: '1-1 Chiyoda', city: 'Tokyo', postalCode: '1000001', country: 'JP' } });
  t.equal(jp.json().data?.address?.postalCode, '100-0001', 'a postal code typed without its separator comes back in its country\'s format');
});

t.test('a paid plan cannot complete until billing puts a payment method on file', async (t) => {
  const ctx = await testContext(t);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  const view = (await flowApi(ctx).get(flow)).json();
  t.match(view, { missingFields: ['paymentMethod'], currentStep: 'paymentMethod' });
  t.same(view.steps.map((s: { key: string }) => s.key), ['email', 'profile', 'company', 'address', 'plan', 'paymentMethod']);
  const forged = await flowApi(ctx).patch(flow, { version: view.version, paymentMethod: { id: 'pm_forged' } });
  t.match((await flowApi(ctx).get(flow)).json(), { missingFields: ['paymentMethod'] }, 'a client cannot fill the payment step itself');
  t.ok(forged.statusCode < 500);
  const answer = await flowApi(ctx).complete(flow);
  t.equal(answer.statusCode, 422);
  t.match(answer.json(), { code: 'signup_incomplete', missingFields: ['paymentMethod'], unverifiedFields: [] });

  // Billing puts a payment method on file (checked at the gateway: the local one here), then completion runs the billing saga.
  const card = await ctx.app.inject({ method: 'PUT', url: '/v1/signup-flows/current/payment-method', headers: { cookie: flow.cookie }, payload: { paymentMethodId: 'pm_card_visa' } });
  t.equal(card.statusCode, 200);
  t.match((await flowApi(ctx).get(flow)).json(), { missingFields: [], currentStep: null });
  const done = await flowApi(ctx).complete(flow);
  t.equal(done.statusCode, 201);
  t.match(done.json().workspace, { plan: 'pro', trialState: 'active' });
});

t.test('complete with something missing or unverified: 422 listing it', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  await api.setEmail(flow, { email: uniqueEmail() });
  await api.patch(flow, { version: 1, company: { name: 'Acme' } });
  const answer = await api.complete(flow);
  t.equal(answer.statusCode, 422);
  t.match(answer.json(), { code: 'signup_incomplete', unverifiedFields: ['email'] });
  t.ok(answer.json().missingFields.includes('profile.password'));
  t.notOk(answer.json().missingFields.includes('company.name'));
});

t.test('ten simultaneous completes make one account; a repeat answers the same with a session', async (t) => {
  const ctx = await testContext(t);
  const flow = await readyFlow(ctx);
  const answers = await concurrently(10, () => flowApi(ctx).complete(flow));
  t.same(statusCounts(answers), { 200: 9, 201: 1 });
  t.equal(new Set(answers.map((a) => a.json().account.id)).size, 1);
  t.equal(new Set(answers.map((a) => a.json().workspace.id)).size, 1);
  for (const answer of answers) t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: sessionCookie(answer) } })).statusCode, 200);
  const counts = await sql<{ accounts: number; workspaces: number }>`
    select (select count(*)::int from accounts) as accounts, (select count(*)::int from workspaces) as workspaces`.execute(ctx.runtime.db);
  t.same(counts.rows[0], { accounts: 1, workspaces: 1 });
  t.match((await flowApi(ctx).get(flow)).json(), { status: 'completed' }, 'the completing cookie may still read it, briefly');
  t.equal((await flowApi(ctx).patch(flow, { version: 9, company: { name: 'x' } })).statusCode, 409, 'but not write');
  await sql`update signup_flow_tokens set revoked_at = now() - interval '1 hour'`.execute(ctx.runtime.db);
  t.equal((await flowApi(ctx).complete(flow)).statusCode, 401, 'the replay window ends');
});

t.test('twenty simultaneous saves at one version: one is accepted', async (t) => {
  const ctx = await testContext(t);
  const flow = await startFlow(ctx);
  const answers = await concurrently(20, (i) => flowApi(ctx).patch(flow, { version: 0, company: { name: `Company ${i}` } }));
  t.same(statusCounts(answers), { 200: 1, 409: 19 });
  const row = await ctx.runtime.db.selectFrom('signup_flows').select(['version', 'data']).executeTakeFirstOrThrow();
  t.equal(row.version, 1);
  t.equal((row.data as { company: { name: string } }).company.name, answers.find((a) => a.statusCode === 200)!.json().data.company.name);
});

t.test('the race with POST /v1/registrations: 409 email_taken and the flow is kept', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail('race');
  const flow = await readyFlow(ctx, { email });
  const [registration, completion] = await Promise.all([register(ctx.app, { email }), flowApi(ctx).complete(flow)]);
  const statuses = [registration.statusCode, completion.statusCode].sort();
  t.same(statuses, [201, 409], 'exactly one of them gets the address');
  const accounts = await ctx.runtime.db.selectFrom('accounts').select('id').execute();
  t.equal(accounts.length, 1);
  if (completion.statusCode === 409) {
    t.match(completion.json(), { code: 'email_taken' });
    t.match((await flowApi(ctx).get(flow)).json(), { status: 'in_progress' }, 'the flow is kept');
  }
  // And deterministically: registered first, then completed.
  const email2 = uniqueEmail('later');
  const flow2 = await readyFlow(ctx, { email: email2 });
  t.equal((await register(ctx.app, { email: email2 })).statusCode, 201);
  const late = await flowApi(ctx).complete(flow2);
  t.equal(late.statusCode, 409);
  t.match(late.json(), { code: 'email_taken' });
  t.match((await flowApi(ctx).get(flow2)).json(), { status: 'in_progress', emailVerified: true });
});

t.test('a failure inside the completion transaction leaves nothing behind', async (t) => {
  const ctx = await testContext(t);
  const flow = await readyFlow(ctx);
  await sql`create function fail_profile() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(ctx.runtime.db);
  await sql`create trigger fail_profile before insert on profiles for each row execute function fail_profile()`.execute(ctx.runtime.db);
  t.equal((await flowApi(ctx).complete(flow)).statusCode, 500);
  const counts = await sql<Record<string, number>>`
    select (select count(*)::int from accounts) as accounts, (select count(*)::int from workspaces) as workspaces,
           (select count(*)::int from workspace_members) as members, (select count(*)::int from onboarding_progress) as progress,
           (select count(*)::int from profiles) as profiles, (select count(*)::int from audit_events) as audit,
           (select count(*)::int from sessions) as sessions,
           (select count(*)::int from graphile_worker.jobs where task_identifier = 'initialize_workspace') as jobs`.execute(ctx.runtime.db);
  t.same(counts.rows[0], { accounts: 0, workspaces: 0, members: 0, progress: 0, profiles: 0, audit: 0, sessions: 0, jobs: 0 });
  t.match((await flowApi(ctx).get(flow)).json(), { status: 'in_progress' });
  await sql`drop trigger fail_profile on profiles`.execute(ctx.runtime.db);
  t.equal((await flowApi(ctx).complete(flow)).statusCode, 201, 'once the fault is gone, it completes');
});

t.test('another device: resume code, a second cookie, both save under the version lock, completing revokes both', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const laptop = await verifiedFlow(ctx);
  t.equal((await api.resume(uniqueEmail('nobody'))).statusCode, 202, 'an unknown address answers the same');
  const asked = await api.resume(laptop.email.toUpperCase());
  t.equal(asked.statusCode, 202);
  const code = await latestCode(ctx, laptop.email);
  const wrong = code === '000000' ? '111111' : '000000';
  t.match((await api.resumeVerify(laptop.email, wrong)).json(), { code: 'invalid_code', attemptsLeft: 4 });
  const bound = await api.resumeVerify(laptop.email, code);
  t.equal(bound.statusCode, 200);
  const phone = { cookie: flowCookie(bound), id: bound.json().id };
  t.equal(phone.id, laptop.id);
  t.not(phone.cookie, laptop.cookie);
  t.equal((await api.resumeVerify(laptop.email, code)).statusCode, 400, 'a code works once');

  const version = bound.json().version;
  t.equal((await api.patch(phone, { version, company: { name: 'From the phone' } })).statusCode, 200);
  const stale = await api.patch(laptop, { version, company: { name: 'From the laptop' } });
  t.equal(stale.statusCode, 409);
  t.match(stale.json().current.data.company, { name: 'From the phone' });
  await api.patch(laptop, { version: version + 1, profile: { firstName: 'Ada', lastName: 'L', password: PASSWORD }, address: US_ADDRESS, plan: { id: 'trial' } });
  t.equal((await api.complete(phone)).statusCode, 201);
  t.equal((await api.get(laptop)).statusCode, 401, 'the other device’s cookie is revoked');
  t.equal((await api.complete(laptop)).statusCode, 401);
});

t.test('discard purges the personal data at once and revokes the cookie', async (t) => {
  const ctx = await testContext(t);
  const flow = await verifiedFlow(ctx, { marketingConsent: true });
  t.equal((await flowApi(ctx).discard(flow)).statusCode, 204);
  t.equal((await flowApi(ctx).get(flow)).statusCode, 401);
  const row = await ctx.runtime.db.selectFrom('signup_flows').selectAll().executeTakeFirstOrThrow();
  t.match(row, { email: null, data: {}, password_hash: null, code_hash: null });
  t.ok(row.discarded_at && row.purged_at);
  t.equal((await ctx.runtime.db.selectFrom('signup_flow_tokens').selectAll().execute()).length, 0);
});

t.test('rate limits: starts per IP, code checks per IP and per address', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE: '2', RATE_LIMIT_SIGNUP_CODES_PER_MINUTE: '3' } });
  const api = flowApi(ctx);
  t.same(statusCounts(await Promise.all([api.start(), api.start(), api.start()])), { 201: 2, 429: 1 });
  const email = uniqueEmail('limited');
  const perAddress = [];
  for (let i = 0; i < 4; i++) perAddress.push((await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows/resume', payload: { email }, remoteAddress: `10.0.0.${i + 1}` })).statusCode);
  t.same(perAddress, [202, 202, 202, 429], 'per address, whatever the IP');
  const perIp = [];
  for (let i = 0; i < 4; i++) perIp.push((await api.resume(uniqueEmail())).statusCode);
  t.same(perIp, [202, 202, 202, 429], 'per IP, whatever the address');
});

t.test('code checks are rate-limited per IP and per address: email verify and resume verify', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNUP_CODES_PER_MINUTE: '3' } });
  const api = flowApi(ctx);
  const verifyFrom = (flow: { cookie: string }, remoteAddress: string) =>
    ctx.app.inject({ method: 'POST', url: '/v1/signup-flows/current/email/verify', headers: { cookie: flow.cookie }, payload: { code: '000000' }, remoteAddress });
  const flow = await startFlow(ctx);
  await api.setEmail(flow, { email: uniqueEmail('guessed') });
  const perAddress = [];
  for (let i = 0; i < 4; i++) perAddress.push((await verifyFrom(flow, `10.1.0.${i + 1}`)).statusCode);
  t.same(perAddress, [400, 400, 400, 429], 'email verification per address, whatever the IP');

  const perIp = [];
  for (let i = 0; i < 4; i++) {
    const other = await startFlow(ctx);
    await api.setEmail(other, { email: uniqueEmail('ip') });
    perIp.push((await verifyFrom(other, '10.2.0.1')).statusCode);
  }
  t.same(perIp, [400, 400, 400, 429], 'email verification per IP, whatever the address');

  const resumed = uniqueEmail('resumed');
  const resumeVerify = [];
  for (let i = 0; i < 4; i++) {
    resumeVerify.push((await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows/resume/verify', payload: { email: resumed, code: '000000' }, remoteAddress: `10.3.0.${i + 1}` })).statusCode);
  }
  t.same(resumeVerify, [400, 400, 400, 429], 'resume verification per address, whatever the IP');
  const resumeIp = [];
  for (let i = 0; i < 4; i++) {
    resumeIp.push((await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows/resume/verify', payload: { email: uniqueEmail('r'), code: '000000' }, remoteAddress: '10.4.0.1' })).statusCode);
  }
  t.same(resumeIp, [400, 400, 400, 429], 'resume verification per IP, whatever the address');
});

t.test('saves are rate-limited per flow', async (t) => {
  const ctx = await testContext(t, { env: { SIGNUP_SAVES_PER_MINUTE: '2' } });
  const [first, second] = [await startFlow(ctx), await startFlow(ctx)];
  const api = flowApi(ctx);
  const answers = [];
  for (let version = 0; version < 3; version++) answers.push((await api.patch(first, { version, company: { name: `v${version}` } })).statusCode);
  t.same(answers, [200, 200, 429]);
  t.equal((await api.patch(second, { version: 0, company: { name: 'other' } })).statusCode, 200, 'another flow has its own budget');
});

t.test('no code, cookie or password reaches a log line or an email subject', async (t) => {
  const ctx = await testContext(t, { captureLogs: true });
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  const email = uniqueEmail('logs');
  await api.setEmail(flow, { email });
  const code = await latestCode(ctx, email);
  await api.verify(flow, code === '000000' ? '111111' : '000000');
  await api.verify(flow, code);
  await api.patch(flow, { version: 2, profile: { firstName: 'A', lastName: 'B', password: PASSWORD } });
  const logs = ctx.logs();
  t.ok(logs.includes('/v1/signup-flows/current'), 'requests were logged');
  for (const secret of [code, flow.cookie.split('=')[1]!, PASSWORD]) t.notOk(logs.includes(secret), 'a secret is not logged');
  t.notOk(ctx.smtp.to(email)[0]!.subject.includes(code));
});

t.test('Secure cookies when APP_BASE_URL is https', async (t) => {
  const ctx = await testContext(t, { env: { APP_BASE_URL: 'https://app.test' } });
  const started = await flowApi(ctx).start();
  t.equal(started.cookies.find((c) => c.name === 'signup_flow')!.secure, true);
});
