import { sql } from 'kysely';
import t from 'tap';
import type { Db } from '../../src/db/database.js';
import { testContext } from '../helpers/app.js';
import { PASSWORD, signUp, signUpVerified, uniqueEmail } from '../helpers/factories.js';
import { flowApi, readyFlow, verifiedFlow } from '../helpers/signup.js';

/** The outbox events of one workspace (or, with null, those without one), oldest first. */
async function events(db: Db, workspaceId: string | null) {
  const rows = await db
    .selectFrom('events')
    .select(['type', 'sequence', 'data', 'workspace_id'])
    .where((eb) => (workspaceId === null ? eb('workspace_id', 'is', null) : eb('workspace_id', '=', workspaceId)))
    .orderBy('occurred_at')
    .orderBy('sequence')
    .execute();
  return rows;
}

t.test('a completed staged sign-up emits account.registered, workspace.created and trial.started with the workspace', async (t) => {
  const ctx = await testContext(t);
  const flow = await readyFlow(ctx, { email: uniqueEmail('staged') });
  const completed = await flowApi(ctx).complete(flow);
  t.equal(completed.statusCode, 201);
  const { account, workspace } = completed.json();
  const emitted = await events(ctx.runtime.db, workspace.id);
  t.same(emitted.map((e) => e.type), ['account.registered', 'workspace.created', 'trial.started']);
  t.same(emitted.map((e) => Number(e.sequence)), [1, 2, 3], 'numbered in order');
  t.match(emitted[0]!.data, { accountId: account.id, email: flow.email, emailVerified: true, via: 'signup_flow' });
  t.match(emitted[1]!.data, { workspaceId: workspace.id, plan: 'trial', ownerAccountId: account.id });
  t.match(emitted[2]!.data, { workspaceId: workspace.id, trialEndsAt: String });
  t.notMatch(JSON.stringify(emitted), /password|\$argon2/i, 'no secret in any event');
});

t.test('POST /v1/workspaces emits workspace.created, and trial.started when the owner is verified', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const unverified = await ctx.app.inject({ method: 'POST', url: '/v1/workspaces', headers: { cookie: owner.cookie }, payload: { name: 'Second' } });
  t.equal(unverified.statusCode, 201);
  t.same((await events(ctx.runtime.db, unverified.json().id)).map((e) => e.type), ['workspace.created'], 'no trial before verification');
  await sql`update accounts set email_verified_at = now() where id = ${owner.accountId}`.execute(ctx.runtime.db);
  const verified = await ctx.app.inject({ method: 'POST', url: '/v1/workspaces', headers: { cookie: owner.cookie }, payload: { name: 'Third' } });
  t.equal(verified.statusCode, 201);
  const emitted = await events(ctx.runtime.db, verified.json().id);
  t.same(emitted.map((e) => e.type), ['workspace.created', 'trial.started']);
  t.match(emitted[0]!.data, { name: 'Third', ownerAccountId: owner.accountId });
});

t.test('an exported lead emits signup.abandoned once, in the transaction that exports it', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const consented = await verifiedFlow(ctx, { marketingConsent: true });
  const version = (await api.get(consented)).json().version;
  await api.patch(consented, { version, profile: { firstName: 'Grace', lastName: 'Hopper', password: PASSWORD }, company: { name: 'Navy' } });
  await verifiedFlow(ctx, { marketingConsent: false });
  await sql`update signup_flows set expires_at = now() - interval '1 second' where completed_at is null`.execute(ctx.runtime.db);
  for (let run = 0; run < 2; run++) {
    await sql`select graphile_worker.add_job('clean_signup_flows', '{}'::json)`.execute(ctx.runtime.db);
    await ctx.runJobs();
  }
  const abandoned = (await events(ctx.runtime.db, null)).filter((e) => e.type === 'signup.abandoned');
  t.equal(abandoned.length, 1, 'one event for the one consented lead, however often the job runs');
  const lead = await ctx.runtime.db.selectFrom('signup_leads').select('id').executeTakeFirstOrThrow();
  t.match(abandoned[0]!.data, { leadId: lead.id, email: consented.email, firstName: 'Grace', companyName: 'Navy' });
});

t.test('billing through the local gateway: the upgrade, a card change and the cancellation are outbox events', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const url = `/v1/workspaces/${owner.workspaceId}/billing`;
  const headers = { cookie: owner.cookie };
  t.equal((await ctx.app.inject({ method: 'POST', url: `${url}/subscription`, headers, payload: { planId: 'pro', paymentMethodId: 'pm_card_visa' } })).statusCode, 200);
  t.equal((await ctx.app.inject({ method: 'PUT', url: `${url}/payment-method`, headers, payload: { paymentMethodId: 'pm_card_mastercard' } })).statusCode, 200);
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `${url}/subscription`, headers })).statusCode, 200);
  const billing = (await events(ctx.runtime.db, owner.workspaceId)).filter((e) => e.type.startsWith('billing.'));
  t.same(billing.map((e) => e.type), ['billing.subscribed', 'billing.payment_method_updated', 'billing.subscription_canceled']);
  t.match(billing[0]!.data, { plan: 'pro', status: 'trialing' });
  t.match(billing[1]!.data, { brand: 'mastercard', last4: String });
  t.match(billing[2]!.data, { atPeriodEnd: true });
});
