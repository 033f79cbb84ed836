import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Tx } from '../../src/db/database.js';
import { AccountRepository } from '../../src/repositories/account-repository.js';
import { WorkspaceRepository } from '../../src/repositories/workspace-repository.js';
import type { SignupCompletionPort } from '../../src/services/billing/signup-saga.js';
import type { TestContext } from '../helpers/app.js';
import { ageSagas, billingRows, stripeContext } from '../helpers/billing.js';
import { concurrently, register, uniqueEmail } from '../helpers/factories.js';
import type { StripeStandIn } from '../helpers/stripe-stand-in.js';

/**
 * A minimal sign-up completion over the real repositories, standing in for the staged sign-up's
 * (issue 12) until it is wired: one transaction, an account and its workspace, email_taken when the
 * address was registered meanwhile.
 */
function completionFor(ctx: TestContext, emails: Map<string, string>): SignupCompletionPort<{ email: string }> {
  return {
    async complete(trx: Tx, flowId: string) {
      const email = emails.get(flowId)!;
      const account = await new AccountRepository(ctx.runtime.db).withTx(trx).insert({ email, name: 'Ada Lovelace', passwordHash: 'not-used', verified: true });
      const workspace = await new WorkspaceRepository(ctx.runtime.db).withTx(trx).insert('Analytical Engines');
      await new WorkspaceRepository(ctx.runtime.db).withTx(trx).insertMember({ workspaceId: workspace.id, accountId: account.id, role: 'owner' });
      return { workspaceId: workspace.id, accountId: account.id, result: { email } };
    },
  };
}

async function setup(t: Test) {
  const { ctx, stripe } = await stripeContext(t);
  const emails = new Map<string, string>();
  ctx.runtime.services.billing.defineSignup(completionFor(ctx, emails));
  const flow = () => {
    const flowId = randomUUID();
    const email = uniqueEmail('paid');
    emails.set(flowId, email);
    return { flowId, email, complete: (paymentMethodId = 'pm_card_visa') => ctx.runtime.services.billing.completeSignup<{ email: string }>({ flowId, planId: 'pro', paymentMethodId, email, name: 'Analytical Engines' }) };
  };
  return { ctx, stripe, flow };
}

const liveCustomersOfFlow = (stripe: StripeStandIn, flowId: string) => stripe.liveCustomers().filter((c) => (c.metadata as Record<string, string>).signup_flow_id === flowId);
const accountsWith = async (ctx: TestContext, email: string) => (await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', email).execute()).length;

t.test('a paid sign-up: one transaction makes the account, the workspace and billing; the trial ends with the gateway trial', async (t) => {
  const { ctx, stripe, flow } = await setup(t);
  const f = flow();
  const before = stripe.requests.length;
  const done = await f.complete();
  t.ok(stripe.requests.length - before <= 4, `${stripe.requests.length - before} gateway calls, counted at the stand-in`);
  t.equal(done.result.email, f.email);
  t.same(await billingRows(ctx, done.workspaceId), { customers: 1, cards: 1, subscriptions: 1, plan: 'pro' });
  const workspace = await ctx.runtime.db.selectFrom('workspaces').select('trial_ends_at').where('id', '=', done.workspaceId).executeTakeFirstOrThrow();
  const sub = [...stripe.subscriptions.values()][0]!;
  t.equal(workspace.trial_ends_at!.getTime(), Number(sub.trial_end) * 1000, 'the workspace trial ends when the gateway trial does');
  t.equal(liveCustomersOfFlow(stripe, f.flowId).length, 1, 'the customer names the flow');
  const again = await f.complete();
  t.same(again, done, 'a repeat answers the same account and workspace');
});

t.test('a decline creates nothing of ours; another card then succeeds', async (t) => {
  const { ctx, stripe, flow } = await setup(t);
  const f = flow();
  await t.rejects(f.complete('pm_card_chargeDeclined'), { code: 'card_declined' });
  t.equal(await accountsWith(ctx, f.email), 0);
  t.same(liveCustomersOfFlow(stripe, f.flowId), []);
  const done = await f.complete('pm_card_visa');
  t.equal(await accountsWith(ctx, f.email), 1);
  t.ok(done.workspaceId);
  t.equal(liveCustomersOfFlow(stripe, f.flowId).length, 1);
});

t.test('the address registered meanwhile: 409 email_taken, the gateway side undone, nothing of ours kept', async (t) => {
  const { ctx, stripe, flow } = await setup(t);
  const f = flow();
  t.equal((await register(ctx.app, { email: f.email })).statusCode, 201);
  await t.rejects(f.complete(), { code: 'email_taken' });
  t.same(liveCustomersOfFlow(stripe, f.flowId), []);
  t.equal([...stripe.subscriptions.values()].filter((s) => s.status !== 'canceled').length, 0);
  t.equal(await accountsWith(ctx, f.email), 1, 'only the registration');
  t.equal((await ctx.runtime.db.selectFrom('billing_customers').selectAll().execute()).length, 0);
});

t.test('five simultaneous completes make one customer, one subscription and one account, and name the same ids', async (t) => {
  const { ctx, stripe, flow } = await setup(t);
  const f = flow();
  const results = await concurrently(5, () => f.complete());
  for (const result of results) t.same(result, results[0]);
  t.equal(await accountsWith(ctx, f.email), 1);
  t.equal(liveCustomersOfFlow(stripe, f.flowId).length, 1);
  t.equal(stripe.subscriptions.size, 1);
});

t.test('a sign-up stopped before its pivot is undone by recovery: no customer without a workspace', async (t) => {
  const { ctx, stripe, flow } = await setup(t);
  const f = flow();
  ctx.runtime.services.sagaRunner.crashAfter = 'subscription';
  await t.rejects(f.complete(), { name: 'SagaCrash' });
  ctx.runtime.services.sagaRunner.crashAfter = undefined;
  await ageSagas(ctx);
  t.equal(await ctx.runtime.services.billing.recover(), 1);
  t.same(liveCustomersOfFlow(stripe, f.flowId), []);
  t.equal(await accountsWith(ctx, f.email), 0);
});
