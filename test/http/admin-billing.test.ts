import t from 'tap';
import { stripeContext, subscribe, trialOwner } from '../helpers/billing.js';

const admin = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };

t.test('admin: the workspace detail shows billing and the list filters by subscription status', async (t) => {
  const { ctx } = await stripeContext(t);
  const paying = await trialOwner(ctx);
  const body = (await subscribe(ctx, paying)).json();
  const free = await trialOwner(ctx);

  const detail = await ctx.app.inject({ method: 'GET', url: `/v1/admin/workspaces/${paying.workspaceId}`, headers: admin });
  t.equal(detail.statusCode, 200);
  t.match(detail.json().billing, {
    gateway: 'stripe',
    customerId: body.customerId,
    subscription: { id: body.subscription.id, plan: 'pro', status: 'trialing', cancelAtPeriodEnd: false },
    paymentMethod: { brand: 'visa', last4: '4242' },
  });
  t.equal(detail.json().workspace.subscriptionStatus, 'trialing');
  const none = await ctx.app.inject({ method: 'GET', url: `/v1/admin/workspaces/${free.workspaceId}`, headers: admin });
  t.same(none.json().billing, { gateway: null, customerId: null, subscription: null, paymentMethod: null });

  const list = async (status: string) =>
    (await ctx.app.inject({ method: 'GET', url: `/v1/admin/workspaces?subscriptionStatus=${status}`, headers: admin })).json().items.map((w: { id: string }) => w.id);
  t.same(await list('trialing'), [paying.workspaceId]);
  t.same(await list('active'), []);
  t.same(await list('none'), [free.workspaceId]);
  await ctx.runtime.db.updateTable('subscriptions').set({ status: 'past_due' }).execute();
  t.same(await list('past_due'), [paying.workspaceId]);
  const bad = await ctx.app.inject({ method: 'GET', url: '/v1/admin/workspaces?subscriptionStatus=gold', headers: admin });
  t.equal(bad.statusCode, 400);
  const csv = await ctx.app.inject({ method: 'GET', url: '/v1/admin/workspaces?subscriptionStatus=past_due', headers: { ...admin, accept: 'text/csv' } });
  t.match(csv.body, /subscription_status\r\n/);
  t.match(csv.body, /,past_due\r\n/);
});
