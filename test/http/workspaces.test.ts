import t from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { addMember, concurrently, latestToken, signUp, signUpVerified, statusCounts, type Owner } from '../helpers/factories.js';

const create = (ctx: TestContext, who: { cookie: string }, name: string, key?: string) =>
  ctx.app.inject({
    method: 'POST',
    url: '/v1/workspaces',
    headers: { cookie: who.cookie, ...(key ? { 'idempotency-key': key } : {}) },
    payload: { name },
  });

async function auditActions(ctx: TestContext, workspaceId: string): Promise<string[]> {
  const rows = await ctx.runtime.db.selectFrom('audit_events').select('action').where('workspace_id', '=', workspaceId).orderBy('occurred_at').execute();
  return rows.map((row) => row.action);
}

t.test('an unverified account creates a workspace: owner, progress, initialisation, audit; the trial waits for verification', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const answer = await create(ctx, owner, '  Side Project  ');
  t.equal(answer.statusCode, 201);
  const workspace = answer.json();
  t.match(workspace, { name: 'Side Project', plan: 'trial', role: 'owner', status: 'active', trialState: 'pending_verification', trialEndsAt: null, initializedAt: null });
  t.equal(answer.headers.location, `/v1/workspaces/${workspace.id}`);

  const me = (await ctx.app.inject({ url: '/v1/me', headers: { cookie: owner.cookie } })).json();
  t.same(me.workspaces.map((w: { id: string }) => w.id), [owner.workspaceId, workspace.id], 'both workspaces, oldest first');
  const onboarding = await ctx.app.inject({ url: `/v1/workspaces/${workspace.id}/onboarding`, headers: { cookie: owner.cookie } });
  t.match(onboarding.json(), { status: 'in_progress', version: 0 }, 'onboarding progress exists');
  t.same(await auditActions(ctx, workspace.id), ['workspace.created']);

  await ctx.runJobs();
  const initialized = (await ctx.app.inject({ url: `/v1/workspaces/${workspace.id}`, headers: { cookie: owner.cookie } })).json();
  t.type(initialized.initializedAt, 'string', 'the initialisation job ran');

  const token = await latestToken(ctx, owner.email);
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } })).statusCode, 200);
  const after = (await ctx.app.inject({ url: `/v1/workspaces/${workspace.id}`, headers: { cookie: owner.cookie } })).json();
  t.equal(after.trialState, 'active', 'verification started the new workspace\'s trial too');
  t.same(await auditActions(ctx, workspace.id), ['workspace.created', 'trial.started']);
});

t.test('a verified account\'s new workspace starts its trial at once, on the first free plan', async (t) => {
  const plans = JSON.stringify([
    { id: 'pro', name: 'Pro', priceId: 'price_pro', trialDays: 30, requiresPaymentMethod: true },
    { id: 'starter', name: 'Starter', priceId: null, trialDays: 21, requiresPaymentMethod: false },
  ]);
  const ctx = await testContext(t, { env: { PLANS: plans } });
  const owner = await signUpVerified(ctx);
  const answer = await create(ctx, owner, 'Second');
  t.equal(answer.statusCode, 201);
  const workspace = answer.json();
  t.match(workspace, { plan: 'starter', trialState: 'active' });
  const days = (Date.parse(workspace.trialEndsAt) - Date.parse(workspace.createdAt)) / 86_400_000;
  t.ok(days > 20.9 && days < 21.1, `the plan's 21-day trial (${days})`);
  t.same(await auditActions(ctx, workspace.id), ['workspace.created', 'trial.started']);
});

t.test('a teammate who joined by invitation starts their own workspace', async (t) => {
  const ctx = await testContext(t);
  const owner: Owner = await signUp(ctx.app);
  const teammate = await addMember(ctx, owner, 'member');
  const answer = await create(ctx, teammate, 'Mine');
  t.equal(answer.statusCode, 201);
  t.match(answer.json(), { role: 'owner', trialState: 'active' }, 'accepting verified the address, so the trial runs');
  const members = await ctx.app.inject({ url: `/v1/workspaces/${answer.json().id}/members`, headers: { cookie: teammate.cookie } });
  t.same(members.json().map((m: { accountId: string; role: string }) => [m.accountId, m.role]), [[teammate.accountId, 'owner']]);
  t.equal((await ctx.app.inject({ url: `/v1/workspaces/${answer.json().id}`, headers: { cookie: owner.cookie } })).statusCode, 404, 'the inviter does not see it');
});

t.test('Idempotency-Key: the same key and name replay the first answer, per account; another name is 422', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const other = await signUp(ctx.app);
  const answers = await concurrently(5, () => create(ctx, owner, 'Retry Co', 'key-1'));
  t.same(statusCounts(answers), { 201: 5 });
  t.equal(new Set(answers.map((a) => a.json().id)).size, 1, 'one workspace');
  t.same(answers.map((a) => a.json()), answers.map(() => answers[0]!.json()), 'the same body every time');
  const count = await ctx.runtime.db.selectFrom('workspaces').select((eb) => eb.fn.countAll<string>().as('n')).where('name', '=', 'Retry Co').executeTakeFirstOrThrow();
  t.equal(Number(count.n), 1);

  const reused = await create(ctx, owner, 'Different Co', 'key-1');
  t.equal(reused.statusCode, 422);
  t.equal(reused.json().code, 'idempotency_key_reused');

  const theirs = await create(ctx, other, 'Retry Co', 'key-1');
  t.equal(theirs.statusCode, 201, 'keys are scoped per account');
  t.not(theirs.json().id, answers[0]!.json().id);
});

t.test('signed out is 401; an empty or over-long name is 400 with its bounds', async (t) => {
  const ctx = await testContext(t);
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/workspaces', payload: { name: 'X' } })).statusCode, 401);
  const owner = await signUp(ctx.app);
  const empty = await create(ctx, owner, '   ');
  t.equal(empty.statusCode, 400);
  t.match(empty.json().errors, [{ field: 'name', message: /1 to 100 characters/ }]);
  t.equal((await create(ctx, owner, 'x'.repeat(101))).statusCode, 400);
});

t.test('an account creates at most RATE_LIMIT_WORKSPACE_CREATIONS_PER_HOUR workspaces an hour; another account is not held back', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_WORKSPACE_CREATIONS_PER_HOUR: '2' } });
  const owner = await signUp(ctx.app);
  const other = await signUp(ctx.app);
  t.equal((await create(ctx, owner, 'One')).statusCode, 201);
  t.equal((await create(ctx, owner, 'Two')).statusCode, 201);
  const third = await create(ctx, owner, 'Three');
  t.equal(third.statusCode, 429);
  t.match(third.headers['content-type'], 'application/problem+json');
  t.ok(Number(third.headers['retry-after']) > 0, 'Retry-After says when');
  t.equal((await create(ctx, other, 'Elsewhere')).statusCode, 201, 'the limit is per account');
  const { rows } = await ctx.runtime.db.selectFrom('workspaces').select((eb) => eb.fn.countAll<string>().as('n')).where('name', '=', 'Three').execute().then((r) => ({ rows: r }));
  t.equal(Number(rows[0]!.n), 0, 'nothing was created past the limit');
});
