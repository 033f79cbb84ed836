import { sql } from 'kysely';
import t from 'tap';
import { TRIAL_END_MAX_DAYS_AHEAD } from '../../src/services/admin-service.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { acceptInvitation, addMember, invite, latestToken, PASSWORD, signUp, signUpVerified, uniqueEmail, type Owner } from '../helpers/factories.js';

const admin = (ctx: TestContext, url: string, init: { method?: 'GET' | 'POST'; payload?: Record<string, unknown>; headers?: Record<string, string> } = {}) =>
  ctx.app.inject({ method: init.method ?? 'GET', url, payload: init.payload, headers: { authorization: `Bearer ${ctx.config.adminToken}`, ...init.headers } });
const ids = (response: { json(): { items: { id: string }[] } }) => response.json().items.map((i) => i.id).sort();
const setTrial = (ctx: TestContext, owner: Owner, interval: string) =>
  sql`update workspaces set trial_ends_at = now() + ${interval}::interval where id = ${owner.workspaceId}`.execute(ctx.runtime.db);

t.test('admin auth: the bearer token only, compared in full; never a session; never on member routes', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  for (const url of ['/v1/admin/workspaces', `/v1/admin/workspaces/${owner.workspaceId}`, '/v1/admin/stats', '/v1/admin/audit-events', '/v1/admin/onboarding/funnel']) {
    t.equal((await ctx.app.inject({ method: 'GET', url })).statusCode, 401, `${url} without token`);
    t.equal((await ctx.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ctx.config.adminToken}x` } })).statusCode, 401, `${url} with a wrong token`);
    t.equal((await ctx.app.inject({ method: 'GET', url, headers: { cookie: owner.cookie } })).statusCode, 401, `${url} with a session`);
    t.equal((await admin(ctx, url)).statusCode, 200, `${url} with the token`);
  }
  const refused = await ctx.app.inject({ method: 'GET', url: '/v1/admin/stats' });
  t.match(refused.json(), { code: 'unauthenticated' });
  t.equal((await admin(ctx, '/v1/me')).statusCode, 401, 'the admin token is not a session');
  t.equal((await admin(ctx, `/v1/workspaces/${owner.workspaceId}`)).statusCode, 401);
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  t.same(doc.paths['/v1/admin/workspaces'].get.security, [{ adminToken: [] }], 'documented with its security scheme');
  t.match(doc.components.securitySchemes.adminToken, { type: 'http', scheme: 'bearer' });
});

t.test('without ADMIN_TOKEN the admin API answers 401 to everyone', async (t) => {
  const ctx = await testContext(t, { env: { ADMIN_TOKEN: '' } });
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/stats', headers: { authorization: 'Bearer ' } })).statusCode, 401);
  const answer = await ctx.app.inject({ method: 'GET', url: '/v1/admin/stats', headers: { authorization: 'Bearer test-admin-token-0123456789abcdef0123' } });
  t.equal(answer.statusCode, 401);
  t.match(answer.json(), { code: 'unauthenticated', detail: /Admin access is not configured.*ADMIN_TOKEN/ }, 'the detail says why');
});

t.test('with ADMIN_TOKEN set, a wrong token is told only that it needs the token', async (t) => {
  const ctx = await testContext(t);
  const answer = await ctx.app.inject({ method: 'GET', url: '/v1/admin/stats', headers: { authorization: 'Bearer wrong' } });
  t.equal(answer.statusCode, 401);
  t.notMatch(answer.json().detail, /not configured/);
});

t.test('list rows carry owner, counts, trial and onboarding; every filter and the combinations that matter', async (t) => {
  const ctx = await testContext(t, { env: { TRIAL_ENDING_SOON_DAYS: '3' } });
  const pending = await signUp(ctx.app, { workspaceName: 'Pending Co', email: uniqueEmail('pending') });
  const active = await signUpVerified(ctx, { workspaceName: 'Active Co' });
  const soon = await signUpVerified(ctx, { workspaceName: 'Soon Co' });
  const expired = await signUpVerified(ctx, { workspaceName: 'Expired Co' });
  await setTrial(ctx, soon, '2 days');
  await setTrial(ctx, expired, '-1 day');
  await addMember(ctx, active, 'member');
  await invite(ctx.app, active, active.workspaceId, uniqueEmail('pending-invite'));
  for (const step of ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import']) {
    await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${soon.workspaceId}/onboarding/steps/${step}`, headers: { cookie: soon.cookie } });
  }
  await sql`update workspaces set status = 'closed', closed_at = now(), plan = 'pro' where id = ${expired.workspaceId}`.execute(ctx.runtime.db);

  const all = await admin(ctx, '/v1/admin/workspaces');
  t.equal(all.statusCode, 200);
  t.equal(all.json().items.length, 4);
  t.equal(all.json().items[0].id, expired.workspaceId, 'newest first');
  const activeRow = all.json().items.find((w: { id: string }) => w.id === active.workspaceId);
  t.match(activeRow, {
    name: 'Active Co',
    plan: 'trial',
    status: 'active',
    trialState: 'active',
    trialDaysLeft: 14,
    owner: { accountId: active.accountId, email: active.email, emailVerified: true },
    memberCount: 2,
    pendingInvitations: 1,
    onboarding: { status: 'in_progress', completedSteps: [], completedAt: null },
  });

  const cases: [string, string[]][] = [
    ['trialState=pending_verification', [pending.workspaceId]],
    ['trialState=active', [active.workspaceId, soon.workspaceId]],
    ['trialState=ending_soon', [soon.workspaceId]],
    ['trialState=expired', [expired.workspaceId]],
    ['plan=pro', [expired.workspaceId]],
    ['plan=trial', [pending.workspaceId, active.workspaceId, soon.workspaceId]],
    ['status=closed', [expired.workspaceId]],
    ['status=active', [pending.workspaceId, active.workspaceId, soon.workspaceId]],
    ['onboarding=completed', [soon.workspaceId]],
    ['onboarding=in_progress', [pending.workspaceId, active.workspaceId, expired.workspaceId]],
    ['q=soon%20co', [soon.workspaceId]],
    [`q=${encodeURIComponent(pending.email.slice(0, 14))}`, [pending.workspaceId]],
    ['q=%25', []],
    ['trialState=active&onboarding=in_progress', [active.workspaceId]],
    ['status=active&trialState=ending_soon&q=Co', [soon.workspaceId]],
    [`createdFrom=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, []],
    [`createdTo=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&plan=trial&status=active`, [pending.workspaceId, active.workspaceId, soon.workspaceId]],
  ];
  for (const [query, expected] of cases) {
    const response = await admin(ctx, `/v1/admin/workspaces?${query}`);
    t.equal(response.statusCode, 200, query);
    t.same(ids(response), [...expected].sort(), query);
  }
  t.match((await admin(ctx, '/v1/admin/workspaces/' + soon.workspaceId)).json().workspace, { trialState: 'ending_soon', trialDaysLeft: 2, onboarding: { status: 'completed' } });
  t.equal((await admin(ctx, '/v1/admin/workspaces?trialState=sometime')).statusCode, 400);
  t.equal((await admin(ctx, '/v1/admin/workspaces?limit=101')).statusCode, 400);
  t.equal((await admin(ctx, '/v1/admin/workspaces?limit=0')).statusCode, 400);
  t.match((await admin(ctx, '/v1/admin/workspaces?cursor=garbage')).json(), { code: 'invalid_cursor' });
});

t.test('cursor pagination repeats and skips nothing while rows are inserted between pages', async (t) => {
  const ctx = await testContext(t);
  const initial: string[] = [];
  for (let i = 0; i < 7; i++) initial.push((await signUp(ctx.app)).workspaceId);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const response: Awaited<ReturnType<typeof admin>> = await admin(ctx, `/v1/admin/workspaces?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(response.statusCode, 200);
    seen.push(...response.json().items.map((w: { id: string }) => w.id));
    cursor = response.json().nextCursor;
    pages++;
    await signUp(ctx.app); // a new sign-up arrives between pages
  } while (cursor);
  t.equal(pages, 3);
  t.same([...seen].sort(), [...initial].sort(), 'each original row exactly once');
  t.equal(new Set(seen).size, seen.length, 'no repeats');
});

t.test('Accept: text/csv streams every matching row with the same filters', async (t) => {
  const ctx = await testContext(t);
  for (let i = 0; i < 3; i++) await signUp(ctx.app, { workspaceName: `Csv, "quoted" ${i}` });
  await signUp(ctx.app, { workspaceName: '=HYPERLINK("x")' });
  const response = await admin(ctx, '/v1/admin/workspaces?limit=1&q=Csv', { headers: { accept: 'text/csv' } });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/csv/);
  const lines = response.body.trim().split('\r\n');
  t.match(lines[0], /^id,name,plan,status,created_at,trial_state/);
  t.equal(lines.length, 4, 'header and all three matches, not one page');
  t.ok(lines.slice(1).every((line) => line.includes('"Csv, ""quoted"" ')), 'quoted per RFC 4180');
  const all = await admin(ctx, '/v1/admin/workspaces', { headers: { accept: 'text/csv' } });
  t.match(all.body, `"'=HYPERLINK(""x"")"`, 'formulas are defused');
});

t.test('detail: row, members, pending invitations, onboarding, audit events newest first', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const email = uniqueEmail('invitee');
  await invite(ctx.app, owner, owner.workspaceId, email);
  const response = await admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}`);
  t.equal(response.statusCode, 200);
  const detail = response.json();
  t.equal(detail.workspace.id, owner.workspaceId);
  t.match(detail.members, [{ accountId: owner.accountId, role: 'owner' }]);
  t.match(detail.pendingInvitations, [{ email, status: 'pending' }]);
  t.match(detail.onboarding, { status: 'in_progress', version: 0 });
  const actions = detail.auditEvents.map((e: { action: string }) => e.action);
  // The invitation completes the invited_teammate step in its transaction (ONBOARDING_STEP_EVENTS).
  t.same(actions.slice(0, 2), ['onboarding.step_completed', 'invitation.sent'], 'newest first');
  t.equal(actions.at(-1), 'account.registered', 'oldest last');
  t.same([...actions].sort(), ['account.registered', 'invitation.sent', 'onboarding.step_completed', 'trial.started'], 'the workspace trail (verification is an account event)');
  const times = detail.auditEvents.map((e: { occurredAt: string }) => Date.parse(e.occurredAt));
  t.ok(times.every((time: number, i: number) => i === 0 || time <= times[i - 1]), 'times never increase down the list');
  t.equal((await admin(ctx, '/v1/admin/workspaces/00000000-0000-4000-8000-000000000000')).statusCode, 404);
});

t.test('trial: extend by days or set the end, with a reason; not before it started; audited', async (t) => {
  const ctx = await testContext(t);
  const unverified = await signUp(ctx.app);
  const owner = await signUpVerified(ctx);
  const trial = (workspaceId: string, payload: Record<string, unknown>) =>
    admin(ctx, `/v1/admin/workspaces/${workspaceId}/trial`, { method: 'POST', payload, headers: { 'x-admin-actor': 'support@vendor.example' } });

  const notStarted = await trial(unverified.workspaceId, { extendDays: 7, reason: 'call' });
  t.equal(notStarted.statusCode, 409);
  t.match(notStarted.json(), { code: 'trial_not_started' });
  const before = (await admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}`)).json().workspace.trialEndsAt;
  const extended = await trial(owner.workspaceId, { extendDays: 7, reason: 'customer on a call' });
  t.equal(extended.statusCode, 200);
  t.equal(new Date(extended.json().trialEndsAt).getTime() - new Date(before).getTime(), 7 * 86_400_000, 'seven more days');
  t.equal(extended.json().trialDaysLeft, 21);

  await setTrial(ctx, owner, '-10 days');
  const revived = await trial(owner.workspaceId, { extendDays: 5, reason: 'expired, give five days' });
  t.equal(revived.json().trialDaysLeft, 5, 'an expired trial extends from now');
  const target = new Date(Date.now() + 40 * 86_400_000).toISOString();
  const set = await trial(owner.workspaceId, { trialEndsAt: target, reason: 'contract' });
  t.equal(set.json().trialEndsAt, target);

  for (const payload of [{ extendDays: 7 }, { reason: 'none' }, { extendDays: 0, reason: 'x' }, { extendDays: 366, reason: 'x' }, { extendDays: 1, trialEndsAt: target, reason: 'both' }, { trialEndsAt: '2000-01-01T00:00:00Z', reason: 'past' }]) {
    t.equal((await trial(owner.workspaceId, payload)).statusCode, 400, JSON.stringify(payload));
  }
  const events = await ctx.runtime.db.selectFrom('audit_events').selectAll().where('action', '=', 'trial.extended').orderBy('occurred_at').execute();
  t.equal(events.length, 3);
  t.match(events[0], { actor_type: 'admin', actor_id: 'support@vendor.example', workspace_id: owner.workspaceId, data: { reason: 'customer on a call', extendDays: 7, from: String, to: String } });
});

t.test('reopen a closed workspace, with its audit event; 409 when not closed', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await sql`update workspaces set created_at = now() - interval '8 days'`.execute(ctx.runtime.db);
  await ctx.runtime.services.onboarding.closeAbandoned(7);
  const reopen = () => admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}/reopen`, { method: 'POST', payload: { reason: 'customer came back' } });
  const reopened = await reopen();
  t.equal(reopened.statusCode, 200);
  t.match(reopened.json(), { status: 'active', onboarding: { status: 'in_progress' } });
  t.match((await reopen()).json(), { code: 'workspace_not_closed' });
  t.equal((await admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}/reopen`, { method: 'POST', payload: {} })).statusCode, 400, 'a reason is required');
  const events = (await admin(ctx, `/v1/admin/audit-events?workspaceId=${owner.workspaceId}&actorType=admin`)).json().items;
  t.match(events, [{ action: 'workspace.reopened', actorId: 'admin', data: { reason: 'customer came back' } }]);
});

t.test('stats: counts by trial state, plan, status, onboarding; registrations and verifications per day', async (t) => {
  const ctx = await testContext(t);
  await signUp(ctx.app);
  await signUp(ctx.app);
  const verified = await signUpVerified(ctx);
  await setTrial(ctx, verified, '1 day');
  const stats = (await admin(ctx, '/v1/admin/stats')).json();
  t.same(stats.byTrialState, { pending_verification: 2, active: 1, ending_soon: 1, expired: 0 });
  t.same(stats.byPlan, { trial: 3 });
  t.same(stats.byStatus, { active: 3, closed: 0 });
  t.same(stats.byOnboarding, { in_progress: 3, completed: 0, closed: 0 });
  t.equal(stats.daily.length, 30);
  t.same(stats.daily.at(-1), { day: new Date().toISOString().slice(0, 10), registrations: 3, verifications: 1 });
  t.ok(stats.daily.slice(0, -1).every((d: { registrations: number }) => d.registrations === 0));
});

t.test('the audit log: one event per action, filters, pagination, and never a secret', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '0' } });
  const owner = await signUpVerified(ctx);
  const email = uniqueEmail('joiner');
  const invitation = (await invite(ctx.app, owner, owner.workspaceId, email)).json();
  await ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/invitations/${invitation.id}/resend`, headers: { cookie: owner.cookie } });
  const token = await latestToken(ctx, email);
  const joined = await acceptInvitation(ctx.app, { token, name: 'Joiner', password: PASSWORD });
  const revoked = (await invite(ctx.app, owner, owner.workspaceId, uniqueEmail('revoked'))).json();
  await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/invitations/${revoked.id}`, headers: { cookie: owner.cookie } });
  const joinerId = joined.json().accountId;
  await ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/members/${joinerId}`, headers: { cookie: owner.cookie }, payload: { role: 'admin' } });
  for (const step of ['profile_complete', 'first_integration', 'invited_teammate', 'first_data_import']) {
    await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/onboarding/steps/${step}`, headers: { cookie: owner.cookie } });
  }
  await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/members/${joinerId}`, headers: { cookie: owner.cookie } });
  await admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}/trial`, { method: 'POST', payload: { extendDays: 3, reason: 'r' } });
  const stale = await signUp(ctx.app);
  await sql`update workspaces set created_at = now() - interval '8 days' where id = ${stale.workspaceId}`.execute(ctx.runtime.db);
  await ctx.runtime.services.onboarding.closeAbandoned(7);
  await admin(ctx, `/v1/admin/workspaces/${stale.workspaceId}/reopen`, { method: 'POST', payload: { reason: 'r' } });

  const events = await ctx.runtime.db.selectFrom('audit_events').select(['action', 'data']).execute();
  const actions = new Set(events.map((e) => e.action));
  for (const action of [
    'account.registered', 'account.email_verified', 'trial.started', 'trial.extended', 'invitation.sent', 'invitation.resent',
    'invitation.revoked', 'invitation.accepted', 'member.role_changed', 'member.removed', 'onboarding.step_completed',
    'onboarding.completed', 'workspace.closed', 'workspace.reopened',
  ]) {
    t.ok(actions.has(action), `audited: ${action}`);
  }
  const everything = JSON.stringify(events);
  const hashes = await ctx.runtime.db.selectFrom('invitations').select('token_hash').execute();
  t.notOk(everything.includes(PASSWORD), 'no password');
  t.notOk(everything.includes(token), 'no token');
  t.notOk(hashes.some((h) => everything.includes(h.token_hash.toString('hex')) || everything.includes(h.token_hash.toString('base64'))), 'no token hash');
  t.notOk(/password|token/i.test(Object.keys(Object.assign({}, ...events.map((e) => e.data))).join(',')), 'no secret-named fields');

  const byAction = (await admin(ctx, '/v1/admin/audit-events?action=invitation.sent')).json();
  t.equal(byAction.items.length, 2);
  const byAccount = (await admin(ctx, `/v1/admin/audit-events?accountId=${joinerId}`)).json();
  t.ok(byAccount.items.every((e: { accountId: string }) => e.accountId === joinerId) && byAccount.items.length >= 3);
  t.equal((await admin(ctx, '/v1/admin/audit-events?actorType=system')).json().items[0].action, 'workspace.closed');

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = (await admin(ctx, `/v1/admin/audit-events?limit=4${cursor ? `&cursor=${cursor}` : ''}`)).json();
    seen.push(...page.items.map((e: { id: string }) => e.id));
    cursor = page.nextCursor;
  } while (cursor);
  t.equal(seen.length, events.length, 'pages cover the log');
  t.equal(new Set(seen).size, seen.length, 'no repeats');
});

t.test('trial: an end is in the future and at most 1826 days ahead, set or extended, even by concurrent extensions', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const trial = (payload: Record<string, unknown>) => admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}/trial`, { method: 'POST', payload });
  const stored = async () => (await ctx.runtime.db.selectFrom('workspaces').select('trial_ends_at').where('id', '=', owner.workspaceId).executeTakeFirstOrThrow()).trial_ends_at!;
  const latestNow = () => Date.now() + TRIAL_END_MAX_DAYS_AHEAD * 86_400_000;
  const latestOf = (answer: { json(): { detail: string } }) => Date.parse(/(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(answer.json().detail)![1]!);

  const farBefore = latestNow();
  const far = await trial({ trialEndsAt: '9999-12-31T23:59:59Z', reason: 'x' });
  t.equal(far.statusCode, 400);
  t.match(far.json(), { code: 'validation_failed', errors: [{ field: 'trialEndsAt', message: /^must be no later than \S+Z, the latest allowed end$/ }] });
  t.match(far.json().detail, /a trial ends at most 1826 days \(5 years\) from now/);
  t.ok(latestOf(far) >= farBefore - 1000 && latestOf(far) <= latestNow() + 1000, 'the detail says the latest allowed end');
  t.match((await trial({ trialEndsAt: '2000-01-01T00:00:00Z', reason: 'past' })).json(), { errors: [{ field: 'trialEndsAt', message: 'must be in the future' }] });

  const nearBound = new Date(latestNow() - 86_400_000 / 2).toISOString();
  const set = await trial({ trialEndsAt: nearBound, reason: 'five-year contract' });
  t.equal(set.statusCode, 200, 'an end within the bound is set');
  t.equal(set.json().trialEndsAt, nearBound);
  const extended = await trial({ extendDays: 1, reason: 'x' });
  t.equal(extended.statusCode, 400, 'extending past the bound is refused');
  t.match(extended.json(), { code: 'validation_failed', errors: [{ field: 'extendDays', message: /^would end the trial after \S+Z, the latest allowed end$/ }] });
  t.equal((await stored()).toISOString(), nearBound, 'the end is unchanged');

  // An end stored before the bound existed (year 9999) cannot be extended into year 10000.
  await sql`update workspaces set trial_ends_at = '9999-12-31T23:59:59Z' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.match((await trial({ extendDays: 1, reason: 'x' })).json(), { errors: [{ field: 'extendDays' }] });
  t.equal((await stored()).toISOString(), '9999-12-31T23:59:59.000Z');

  // Two extensions at once that each fit alone but not together: the second sees the first's end.
  await sql`update workspaces set trial_ends_at = now() + make_interval(days => ${TRIAL_END_MAX_DAYS_AHEAD - 300}) where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const answers = await Promise.all([1, 2].map(() => trial({ extendDays: 200, reason: 'at once' })));
  t.same(answers.map((a) => a.statusCode).sort(), [200, 400], 'one extends, the other is refused');
  t.ok((await stored()).getTime() <= latestNow(), 'the end stays within the bound');
  const events = await ctx.runtime.db.selectFrom('audit_events').select('data').where('action', '=', 'trial.extended').execute();
  t.equal(events.length, 2, 'only the changes made are audited');
});

t.test('a reason of spaces only is refused on trial changes and reopening', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  for (const [url, payload] of [
    [`/v1/admin/workspaces/${owner.workspaceId}/trial`, { extendDays: 1, reason: '  ' }],
    [`/v1/admin/workspaces/${owner.workspaceId}/reopen`, { reason: ' \t ' }],
  ] as const) {
    const answer = await admin(ctx, url, { method: 'POST', payload });
    t.equal(answer.statusCode, 400, url);
    t.match(answer.json(), { code: 'validation_failed', errors: [{ field: 'reason', message: 'must be 1 to 500 characters long, not counting spaces at either end' }] });
  }
  const trimmed = await admin(ctx, `/v1/admin/workspaces/${owner.workspaceId}/trial`, { method: 'POST', payload: { extendDays: 1, reason: '  on a call  ' } });
  t.equal(trimmed.statusCode, 200);
  const event = await ctx.runtime.db.selectFrom('audit_events').select('data').where('action', '=', 'trial.extended').executeTakeFirstOrThrow();
  t.match(event.data, { reason: 'on a call' }, 'kept without the spaces');
});

t.test('a range whose start is not before its end is a 400 naming the start on every admin list and report', async (t) => {
  const ctx = await testContext(t);
  const later = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
  const earlier = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
  for (const [url, from, to] of [
    ['/v1/admin/workspaces', 'createdFrom', 'createdTo'],
    ['/v1/admin/audit-events', 'from', 'to'],
    ['/v1/admin/events', 'from', 'to'],
    ['/v1/admin/leads', 'from', 'to'],
    ['/v1/admin/onboarding/funnel', 'from', 'to'],
  ] as const) {
    for (const [start, end] of [[later, earlier], [later, later]]) {
      const answer = await admin(ctx, `${url}?${from}=${start}&${to}=${end}`);
      t.equal(answer.statusCode, 400, `${url}: ${from} not before ${to}`);
      t.match(answer.json(), { code: 'validation_failed', detail: `\`${from}\` must be before \`${to}\`.`, errors: [{ field: from, message: `must be before ${to}` }] });
    }
    t.equal((await admin(ctx, `${url}?${from}=${earlier}&${to}=${later}`)).statusCode, 200, `${url}: an ordered range`);
    t.equal((await admin(ctx, `${url}?${to}=${earlier}`)).statusCode, 200, `${url}: an open start`);
  }
  const csv = await admin(ctx, `/v1/admin/workspaces?createdFrom=${later}&createdTo=${earlier}`, { headers: { accept: 'text/csv' } });
  t.equal(csv.statusCode, 400, 'the CSV too, before it starts');
});

t.test('the plan filter takes a configured plan or one a workspace is still on, and a 400 lists the configured ones', async (t) => {
  const ctx = await testContext(t, { env: { PLANS: JSON.stringify([{ id: 'starter', name: 'Starter', priceId: null, trialDays: 14, requiresPaymentMethod: false }, { id: 'scale', name: 'Scale', priceId: 'price_scale', trialDays: 14, requiresPaymentMethod: true }]) } });
  const owner = await signUp(ctx.app);
  const legacy = await signUp(ctx.app);
  // A plan since removed from PLANS (the column default of earlier versions) keeps its workspaces findable.
  await sql`update workspaces set plan = 'trial' where id = ${legacy.workspaceId}`.execute(ctx.runtime.db);
  const bogus = await admin(ctx, '/v1/admin/workspaces?plan=bogus');
  t.equal(bogus.statusCode, 400);
  t.match(bogus.json(), { code: 'validation_failed', errors: [{ field: 'querystring.plan', message: 'must be one of: "starter", "scale"' }] });
  t.same(ids(await admin(ctx, '/v1/admin/workspaces?plan=trial')), [legacy.workspaceId], 'a plan no longer configured still finds its workspaces');
  t.same(ids(await admin(ctx, '/v1/admin/workspaces?plan=starter')), [owner.workspaceId]);
  t.same(ids(await admin(ctx, '/v1/admin/workspaces?plan=scale')), []);
});
