import { sql } from 'kysely';
import t from 'tap';
import { OnboardingRepository } from '../../src/repositories/onboarding-repository.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { concurrently, PASSWORD, sessionCookie, signUp, signUpVerified, statusCounts, type Owner } from '../helpers/factories.js';

const STEPS = ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import'];
const base = (owner: Owner) => `/v1/workspaces/${owner.workspaceId}/onboarding`;
const getOnboarding = (ctx: TestContext, owner: Owner, cookie = owner.cookie) => ctx.app.inject({ method: 'GET', url: base(owner), headers: { cookie } });
const putStep = (ctx: TestContext, owner: Owner, step: string) => ctx.app.inject({ method: 'PUT', url: `${base(owner)}/steps/${step}`, headers: { cookie: owner.cookie } });
const deleteStep = (ctx: TestContext, owner: Owner, step: string) => ctx.app.inject({ method: 'DELETE', url: `${base(owner)}/steps/${step}`, headers: { cookie: owner.cookie } });
const saveDraft = (ctx: TestContext, owner: Owner, payload: Record<string, unknown>) =>
  ctx.app.inject({ method: 'PATCH', url: `${base(owner)}/draft`, headers: { cookie: owner.cookie }, payload });
const complete = (ctx: TestContext, owner: Owner) => ctx.app.inject({ method: 'POST', url: `${base(owner)}/complete`, headers: { cookie: owner.cookie } });
const completedJobs = async (ctx: TestContext) =>
  (await sql`select 1 from graphile_worker.jobs where task_identifier = 'onboarding_completed'`.execute(ctx.runtime.db)).rows.length;

t.test('resume anywhere: a new sign-in on another device gets exactly the saved state', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const fresh = (await getOnboarding(ctx, owner)).json();
  t.match(fresh, { status: 'in_progress', completedAt: null, currentStep: null, data: {}, version: 0 });
  t.same(fresh.steps.map((s: { key: string }) => s.key), STEPS, 'the configured catalogue, in order');

  t.equal((await saveDraft(ctx, owner, { data: { company: 'Acme', size: 12 }, currentStep: 'first_integration', version: 0 })).statusCode, 200);
  t.equal((await putStep(ctx, owner, 'profile_complete')).statusCode, 200);

  const otherDevice = await ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email: owner.email, password: PASSWORD } });
  const resumed = (await getOnboarding(ctx, owner, sessionCookie(otherDevice))).json();
  t.match(resumed, { status: 'in_progress', currentStep: 'first_integration', data: { company: 'Acme', size: 12 }, version: 1 });
  t.match(resumed.steps[0], { key: 'profile_complete', completed: true, completedAt: String });
  t.match(resumed.steps[1], { key: 'first_integration', completed: false, completedAt: null });
});

t.test('steps: unknown keys 404, non-members 404, repeats change nothing', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const stranger = await signUp(ctx.app);
  const unknown = await putStep(ctx, owner, 'launch_rocket');
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { code: 'unknown_step' });
  t.equal((await ctx.app.inject({ method: 'PUT', url: `${base(owner)}/steps/profile_complete`, headers: { cookie: stranger.cookie } })).statusCode, 404);

  const first = (await putStep(ctx, owner, 'profile_complete')).json();
  const again = (await putStep(ctx, owner, 'profile_complete')).json();
  t.equal(again.steps[0].completedAt, first.steps[0].completedAt, 'the first completion time is kept');
  await concurrently(10, () => putStep(ctx, owner, 'first_integration'));
  const row = await ctx.runtime.db.selectFrom('onboarding_progress').select('completed_steps').where('workspace_id', '=', owner.workspaceId).executeTakeFirstOrThrow();
  t.same(row.completed_steps, ['profile_complete', 'first_integration'], 'no duplicates, ever');
  const audited = await ctx.runtime.db.selectFrom('audit_events').select('id').where('action', '=', 'onboarding.step_completed').execute();
  t.equal(audited.length, 2, 'one audit event per step');
});

t.test('the last step completes onboarding exactly once, with exactly one job, even when steps race', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Acme' });
  const responses = await concurrently(12, (i) => putStep(ctx, owner, STEPS[i % STEPS.length]!));
  t.same(statusCounts(responses), { 200: 12 });
  const view = (await getOnboarding(ctx, owner)).json();
  t.equal(view.status, 'completed');
  t.ok(view.completedAt);
  t.equal(await completedJobs(ctx), 1, 'one onboarding_completed job');
  const completions = await ctx.runtime.db.selectFrom('audit_events').select('id').where('action', '=', 'onboarding.completed').execute();
  t.equal(completions.length, 1, 'completed once');

  const confirmed = await complete(ctx, owner);
  t.equal(confirmed.statusCode, 200, 'completing again confirms');
  t.equal(confirmed.json().completedAt, view.completedAt, 'completed_at is set once');
  t.equal(await completedJobs(ctx), 1, 'still one job');
  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).filter((m) => m.subject === 'Acme is all set up').length, 1, 'the owners hear of it once');

  const undo = await deleteStep(ctx, owner, 'profile_complete');
  t.equal(undo.statusCode, 409);
  t.match(undo.json(), { code: 'onboarding_completed' });
});

t.test('un-marking a step, and completing before every step is done', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await putStep(ctx, owner, 'profile_complete');
  await putStep(ctx, owner, 'first_integration');
  const undone = await deleteStep(ctx, owner, 'first_integration');
  t.equal(undone.statusCode, 200);
  t.match(undone.json().steps[1], { key: 'first_integration', completed: false, completedAt: null });
  const early = await complete(ctx, owner);
  t.equal(early.statusCode, 409);
  t.match(early.json(), { code: 'steps_incomplete', missingSteps: ['first_integration', 'invited_teammate', 'first_data_import'] });
  t.equal(await completedJobs(ctx), 0);
});

t.test('ONBOARDING_STEPS configures the catalogue', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_STEPS: 'connect_crm,import_contacts' } });
  const owner = await signUp(ctx.app);
  t.same((await getOnboarding(ctx, owner)).json().steps.map((s: { key: string }) => s.key), ['connect_crm', 'import_contacts']);
  t.equal((await putStep(ctx, owner, 'profile_complete')).statusCode, 404);
  await putStep(ctx, owner, 'connect_crm');
  t.equal((await putStep(ctx, owner, 'import_contacts')).json().status, 'completed');
});

t.test('draft auto-save: optimistic locking, validation, and no lost update under a race', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const saved = await saveDraft(ctx, owner, { data: { a: 1 }, version: 0 });
  t.equal(saved.statusCode, 200);
  t.match(saved.json(), { version: 1, updatedAt: String });

  const stale = await saveDraft(ctx, owner, { data: { a: 2 }, version: 0 });
  t.equal(stale.statusCode, 409);
  t.match(stale.json(), { code: 'version_conflict', current: { version: 1, data: { a: 1 }, updatedAt: String, currentStep: null } });

  const race = await concurrently(20, (i) => saveDraft(ctx, owner, { data: { writer: i }, version: 1 }));
  t.same(statusCounts(race), { 200: 1, 409: 19 });
  const winner = race.findIndex((r) => r.statusCode === 200);
  const stored = (await getOnboarding(ctx, owner)).json();
  t.same(stored.data, { writer: winner }, 'the one accepted save is what is stored');
  t.equal(stored.version, 2);

  const big = await saveDraft(ctx, owner, { data: { blob: 'x'.repeat(33 * 1024) }, version: 2 });
  t.equal(big.statusCode, 400);
  t.match(big.json(), { errors: [{ field: 'data' }] });
  t.equal((await saveDraft(ctx, owner, { data: ['not', 'an', 'object'], version: 2 })).statusCode, 400);
  t.equal((await saveDraft(ctx, owner, { data: {}, version: 2, currentStep: 'nope' })).statusCode, 400);
  t.equal((await saveDraft(ctx, owner, { data: {} })).statusCode, 400, 'version is required');
});

t.test('auto-saves that meet share one UPDATE, and each still gets exactly its own answer', async (t) => {
  const ctx = await testContext(t);
  const [a, b, closed, twoTabs, keepsStep] = await Promise.all([signUp(ctx.app), signUp(ctx.app), signUp(ctx.app), signUp(ctx.app), signUp(ctx.app)]);
  t.equal((await saveDraft(ctx, b, { data: { b: 1 }, version: 0 })).statusCode, 200);
  t.equal((await saveDraft(ctx, keepsStep, { data: {}, currentStep: 'invited_teammate', version: 0 })).statusCode, 200);
  await sql`update workspaces set status = 'closed' where id = ${closed.workspaceId}`.execute(ctx.runtime.db);

  const saves = [
    { workspaceId: a.workspaceId, accountId: a.accountId, version: 0, data: { a: 1 }, currentStep: 'first_integration' },
    { workspaceId: b.workspaceId, accountId: b.accountId, version: 0, data: { b: 'stale' } },
    { workspaceId: a.workspaceId, accountId: b.accountId, version: 0, data: { intruder: true } },
    { workspaceId: closed.workspaceId, accountId: closed.accountId, version: 0, data: { c: 1 } },
    { workspaceId: twoTabs.workspaceId, accountId: twoTabs.accountId, version: 0, data: { tab: 1 } },
    { workspaceId: twoTabs.workspaceId, accountId: twoTabs.accountId, version: 0, data: { tab: 2 } },
    { workspaceId: keepsStep.workspaceId, accountId: keepsStep.accountId, version: 1, data: { k: 1 } },
  ];
  const results = await new OnboardingRepository(ctx.runtime.db).saveDrafts(saves);
  t.notOk(results.includes('locked'), 'no row was held elsewhere');
  t.equal(results.length, saves.length, 'one answer per save, from one statement');
  t.match(results[0], { version: 1, updatedAt: Date }, 'saved');
  t.same(results.slice(1, 4), [undefined, undefined, undefined], 'stale version, non-member and closed workspace: not saved');
  t.equal(results.slice(4, 6).filter(Boolean).length, 1, 'two tabs at the same version: exactly one wins');
  t.match(results[6], { version: 2 });

  const stored = async (owner: { workspaceId: string }) =>
    ctx.runtime.db.selectFrom('onboarding_progress').select(['data', 'version', 'current_step']).where('workspace_id', '=', owner.workspaceId).executeTakeFirstOrThrow();
  t.same(await stored(a), { data: { a: 1 }, version: 1, current_step: 'first_integration' }, 'the intruder wrote nothing');
  t.same(await stored(b), { data: { b: 1 }, version: 1, current_step: null });
  t.same(await stored(closed), { data: {}, version: 0, current_step: null });
  t.same(await stored(twoTabs), { data: { tab: results[4] ? 1 : 2 }, version: 1, current_step: null }, 'the winner is what is stored');
  t.same(await stored(keepsStep), { data: { k: 1 }, version: 2, current_step: 'invited_teammate' }, 'no currentStep keeps the current one');

  // Over HTTP, saves of many workspaces at once (which the service groups) answer as they would alone.
  const owners = await Promise.all(Array.from({ length: 8 }, () => signUp(ctx.app)));
  const answers = await Promise.all(owners.flatMap((owner, i) => [saveDraft(ctx, owner, { data: { i }, version: 0 }), saveDraft(ctx, owner, { data: { i }, version: 5 })]));
  t.same(statusCounts(answers), { 200: 8, 409: 8 });
  t.same(answers.map((r) => r.statusCode), owners.flatMap(() => [200, 409]), 'each save got its own answer');
  // The stale save read what was stored when it was refused: before or after its sibling's save.
  const { code, current } = answers[1]!.json();
  t.equal(code, 'version_conflict');
  t.same(current.data, current.version === 1 ? { i: 0 } : {}, 'the conflict carries the stored version and its data');
});

t.test('a workspace whose progress row is held elsewhere holds up nobody else\'s saves', async (t) => {
  const ctx = await testContext(t);
  const [busy, others] = [await signUp(ctx.app), await Promise.all(Array.from({ length: 4 }, () => signUp(ctx.app)))];
  const holder = await ctx.runtime.pool.connect();
  t.teardown(() => holder.release());
  await holder.query('begin');
  await holder.query('select 1 from onboarding_progress where workspace_id = $1 for update', [busy.workspaceId]);

  let busyAnswered = false;
  const busySave = saveDraft(ctx, busy, { data: { waited: true }, version: 0 }).then((response) => {
    busyAnswered = true;
    return response;
  });
  // Saves that meet the busy one share its batch; they must all answer while the row is still held.
  const otherSaves = await Promise.all(others.map((owner) => saveDraft(ctx, owner, { data: { free: true }, version: 0 })));
  t.same(statusCounts(otherSaves), { 200: 4 });
  t.notOk(busyAnswered, 'the busy workspace waits for its row');

  await holder.query('commit');
  const waited = await busySave;
  t.equal(waited.statusCode, 200, 'and saves once the row is free');
  t.match(waited.json(), { version: 1 });
});

t.test('a save that waits past the statement timeout gets a 503 to retry, not a 500, and stores nothing', async (t) => {
  const ctx = await testContext(t, { env: { DATABASE_STATEMENT_TIMEOUT_MS: '1000' }, captureLogs: true });
  const owner = await signUp(ctx.app);
  const holder = await ctx.runtime.pool.connect();
  t.teardown(() => holder.release());
  await holder.query('begin');
  await holder.query('select 1 from onboarding_progress where workspace_id = $1 for update', [owner.workspaceId]);

  const timedOut = await saveDraft(ctx, owner, { data: { lost: true }, version: 0 });
  t.equal(timedOut.statusCode, 503);
  t.equal(timedOut.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(timedOut.headers['retry-after'], '2');
  t.match(timedOut.json(), { code: 'temporarily_unavailable', status: 503, detail: /try again/ });
  t.notMatch(ctx.logs(), /unhandled error/, 'a timeout is not logged as a failure of ours');

  await holder.query('commit');
  const retried = await saveDraft(ctx, owner, { data: { saved: true }, version: 0 });
  t.equal(retried.statusCode, 200, 'the retry with the same version succeeds: the timed-out save stored nothing');
  t.match(retried.json(), { version: 1 });
  t.match((await getOnboarding(ctx, owner)).json(), { version: 1, data: { saved: true } });
});

t.test('two instances batching saves of the same workspaces still accept exactly one save per version', async (t) => {
  const ctx = await testContext(t);
  const other = await ctx.secondInstance();
  const owners = await Promise.all(Array.from({ length: 3 }, () => signUp(ctx.app)));
  // Every owner's workspace gets 8 saves at version 0 from each instance at once (the two tabs, the two instances).
  const answers = await Promise.all(
    owners.flatMap((owner) =>
      [ctx.app, other.app].flatMap((app) =>
        Array.from({ length: 8 }, (_, i) =>
          app.inject({ method: 'PATCH', url: `${base(owner)}/draft`, headers: { cookie: owner.cookie }, payload: { data: { writer: i }, version: 0 } }),
        ),
      ),
    ),
  );
  t.same(statusCounts(answers), { 200: 3, 409: 45 });
  for (const [n, owner] of owners.entries()) {
    const mine = answers.slice(n * 16, n * 16 + 16);
    t.equal(mine.filter((r) => r.statusCode === 200).length, 1, `workspace ${n}: one save accepted`);
    const stored = (await getOnboarding(ctx, owner)).json();
    t.equal(stored.version, 1, `workspace ${n}: saved once`);
    t.same(stored.data, { writer: mine.findIndex((r) => r.statusCode === 200) % 8 }, `workspace ${n}: the accepted save is what is stored`);
  }
});

t.test('draft saves are rate-limited per account', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_SAVES_PER_MINUTE: '2' } });
  const owner = await signUp(ctx.app);
  t.equal((await saveDraft(ctx, owner, { data: {}, version: 0 })).statusCode, 200);
  t.equal((await saveDraft(ctx, owner, { data: {}, version: 1 })).statusCode, 200);
  const limited = await saveDraft(ctx, owner, { data: {}, version: 2 });
  t.equal(limited.statusCode, 429);
  t.ok(limited.headers['retry-after']);
  const other = await signUp(ctx.app);
  t.equal((await saveDraft(ctx, other, { data: {}, version: 0 })).statusCode, 200, 'another account is not limited');
});

t.test('abandoned workspaces are closed by the daily job, in batches, idempotently; closed refuses writes; reopen', async (t) => {
  const ctx = await testContext(t);
  const abandoned = [await signUp(ctx.app), await signUp(ctx.app), await signUp(ctx.app)];
  const finished = await signUp(ctx.app);
  const recent = await signUp(ctx.app);
  for (const step of STEPS) await putStep(ctx, finished, step);
  const old = [...abandoned, finished].map((o) => o.workspaceId);
  await sql`update workspaces set created_at = now() - interval '8 days' where id = any(${old}::uuid[])`.execute(ctx.runtime.db);

  const [first, second] = await Promise.all([ctx.runtime.services.onboarding.closeAbandoned(7, 2), ctx.runtime.services.onboarding.closeAbandoned(7, 2)]);
  t.equal(first + second, 3, 'two runs at once close each workspace once');
  t.equal(await ctx.runtime.services.onboarding.closeAbandoned(7, 2), 0, 'a later run finds nothing');
  const closures = await ctx.runtime.db.selectFrom('audit_events').select(['workspace_id', 'actor_type']).where('action', '=', 'workspace.closed').execute();
  t.same(closures.map((c) => c.workspace_id).sort(), abandoned.map((o) => o.workspaceId).sort(), 'each closure recorded once');
  t.ok(closures.every((c) => c.actor_type === 'system'));

  const [closed] = abandoned;
  t.equal((await getOnboarding(ctx, closed!)).json().status, 'closed');
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${closed!.workspaceId}`, headers: { cookie: closed!.cookie } })).json().status, 'closed');
  for (const refused of [await putStep(ctx, closed!, 'profile_complete'), await deleteStep(ctx, closed!, 'profile_complete'), await saveDraft(ctx, closed!, { data: {}, version: 0 }), await complete(ctx, closed!)]) {
    t.equal(refused.statusCode, 409);
    t.match(refused.json(), { code: 'workspace_closed' });
  }
  t.equal((await getOnboarding(ctx, finished)).json().status, 'completed', 'completed ones stay');
  t.equal((await getOnboarding(ctx, recent)).json().status, 'in_progress', 'recent ones stay');

  await ctx.runtime.services.onboarding.reopen(closed!.workspaceId, { type: 'admin', id: 'admin' }, 'customer asked');
  t.equal((await getOnboarding(ctx, closed!)).json().status, 'in_progress');
  t.equal((await saveDraft(ctx, closed!, { data: { back: true }, version: 0 })).statusCode, 200, 'writes work again');
  await t.rejects(ctx.runtime.services.onboarding.reopen(closed!.workspaceId, { type: 'admin', id: 'admin' }, 'again'), { code: 'workspace_not_closed' });
});

t.test('the cleanup runs as the close_abandoned_workspaces job with ABANDONED_AFTER_DAYS', async (t) => {
  const ctx = await testContext(t, { env: { ABANDONED_AFTER_DAYS: '3' } });
  const owner = await signUp(ctx.app);
  await sql`update workspaces set created_at = now() - interval '4 days'`.execute(ctx.runtime.db);
  await sql`select graphile_worker.add_job('close_abandoned_workspaces')`.execute(ctx.runtime.db);
  await ctx.runJobs();
  t.equal((await getOnboarding(ctx, owner)).json().status, 'closed');
});

t.test('GET /v1/me/onboarding-status: statuses with an ETag; unchanged answers 304', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const status = (headers: Record<string, string> = {}) => ctx.app.inject({ method: 'GET', url: '/v1/me/onboarding-status', headers: { cookie: owner.cookie, ...headers } });
  const first = await status();
  t.equal(first.statusCode, 200);
  t.same(first.json(), { workspaces: [{ id: owner.workspaceId, status: 'in_progress' }] });
  const etag = first.headers.etag as string;
  t.ok(etag);
  const unchanged = await status({ 'if-none-match': etag });
  t.equal(unchanged.statusCode, 304);
  t.equal(unchanged.body, '');
  for (const step of STEPS) await putStep(ctx, owner, step);
  const changed = await status({ 'if-none-match': etag });
  t.equal(changed.statusCode, 200, 'completion invalidated the cache at once');
  t.same(changed.json(), { workspaces: [{ id: owner.workspaceId, status: 'completed' }] });
  t.not(changed.headers.etag, etag);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/me/onboarding-status' })).statusCode, 401);
});

t.test('the status cache is invalidated in every instance sharing the database', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_STATUS_CACHE_SECONDS: '3600' } });
  const other = await ctx.secondInstance();
  const owner = await signUp(ctx.app);
  const teammateView = () => other.app.inject({ method: 'GET', url: '/v1/me/onboarding-status', headers: { cookie: owner.cookie } });
  t.equal((await teammateView()).json().workspaces[0].status, 'in_progress');

  // Behind the service's back nothing tells the cache: it keeps answering from memory.
  await sql`update onboarding_progress set completed_at = now()`.execute(ctx.runtime.db);
  t.equal((await teammateView()).json().workspaces[0].status, 'in_progress', 'served from the cache');
  await sql`update onboarding_progress set completed_at = null`.execute(ctx.runtime.db);

  for (const step of STEPS) await putStep(ctx, owner, step); // on the first instance
  let seen = 'in_progress';
  for (let i = 0; i < 100 && seen !== 'completed'; i++) {
    seen = (await teammateView()).json().workspaces[0].status;
    if (seen !== 'completed') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(seen, 'completed', 'the other instance heard of the completion long before its 1-hour TTL');
});

t.test('the funnel counts a known data set in SQL; admin token only', async (t) => {
  const ctx = await testContext(t);
  const unverified = await signUp(ctx.app);
  const verified = await signUpVerified(ctx);
  const finished = await signUpVerified(ctx);
  const outside = await signUpVerified(ctx);
  await putStep(ctx, verified, 'profile_complete');
  await putStep(ctx, verified, 'first_integration');
  for (const step of STEPS) await putStep(ctx, finished, step);
  await putStep(ctx, outside, 'profile_complete');
  await sql`update workspaces set created_at = '2020-01-01' where id = ${outside.workspaceId}`.execute(ctx.runtime.db);
  void unverified;

  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const funnel = await ctx.app.inject({
    method: 'GET',
    url: `/v1/admin/onboarding/funnel?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    headers: { authorization: `Bearer ${ctx.config.adminToken}` },
  });
  t.equal(funnel.statusCode, 200);
  t.match(funnel.json(), {
    registered: 3,
    ownerVerified: 2,
    steps: { profile_complete: 2, first_integration: 2, invited_teammate: 1, first_data_import: 1 },
    completed: 1,
  });
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/onboarding/funnel' })).statusCode, 401);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/onboarding/funnel', headers: { authorization: 'Bearer wrong-token-wrong-token-wrong-token' } })).statusCode, 401);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/onboarding/funnel', headers: { cookie: verified.cookie } })).statusCode, 401, 'a session never works on admin routes');
  const backwards = await ctx.app.inject({ method: 'GET', url: `/v1/admin/onboarding/funnel?from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`, headers: { authorization: `Bearer ${ctx.config.adminToken}` } });
  t.equal(backwards.statusCode, 400);
});
