import type { Test } from 'tap';
import { testContext, type TestContext } from './app.js';
import { signUpVerified, type Owner } from './factories.js';
import { startStripeStandIn, type StripeStandIn } from './stripe-stand-in.js';

/** A service on the Stripe adapter, pointed at a stand-in Stripe; short timeouts and backoff. */
export async function stripeContext(t: Test, options: { captureLogs?: boolean } = {}): Promise<{ ctx: TestContext; stripe: StripeStandIn }> {
  const stripe = await startStripeStandIn(t);
  const ctx = await testContext(t, {
    captureLogs: options.captureLogs,
    env: {
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
      GATEWAY_TIMEOUT_MS: '300',
      GATEWAY_RETRY_BASE_MS: '1',
      GATEWAY_MAX_ATTEMPTS: '3',
    },
  });
  return { ctx, stripe };
}

/** POST /v1/workspaces/:id/billing/subscription as the owner. */
export function subscribe(ctx: TestContext, owner: Owner, paymentMethodId = 'pm_card_visa', planId = 'pro') {
  return ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: owner.cookie }, payload: { planId, paymentMethodId } });
}

/** A verified owner (trial running) ready to upgrade. */
export function trialOwner(ctx: TestContext): Promise<Owner> {
  return signUpVerified(ctx);
}

/** Our billing rows of a workspace, counted. */
export async function billingRows(ctx: TestContext, workspaceId: string): Promise<{ customers: number; cards: number; subscriptions: number; plan: string }> {
  const db = ctx.runtime.db;
  const count = async (table: 'billing_customers' | 'payment_methods' | 'subscriptions') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow()).n);
  const workspace = await db.selectFrom('workspaces').select('plan').where('id', '=', workspaceId).executeTakeFirstOrThrow();
  return { customers: await count('billing_customers'), cards: await count('payment_methods'), subscriptions: await count('subscriptions'), plan: workspace.plan };
}

/** The stand-in's live customers made for a workspace (by their metadata). */
export function liveCustomersOf(stripe: StripeStandIn, workspaceId: string) {
  return stripe.liveCustomers().filter((c) => (c.metadata as Record<string, string>).workspace_id === workspaceId);
}

/** The stand-in's subscriptions that are not canceled, for a workspace. */
export function liveSubscriptionsOf(stripe: StripeStandIn, workspaceId: string) {
  return [...stripe.subscriptions.values()].filter((s) => s.status !== 'canceled' && (s.metadata as Record<string, string>).workspace_id === workspaceId);
}

/** Sagas of a workspace with their steps. */
export async function sagasOf(ctx: TestContext, workspaceId: string) {
  const sagas = await ctx.runtime.db.selectFrom('billing_sagas').selectAll().where('subject_id', '=', workspaceId).orderBy('created_at').execute();
  const steps = await ctx.runtime.db
    .selectFrom('billing_saga_steps')
    .selectAll()
    .where('saga_id', 'in', sagas.length ? sagas.map((s) => s.id) : ['00000000-0000-0000-0000-000000000000'])
    .orderBy('started_at')
    .execute();
  return sagas.map((saga) => ({ ...saga, steps: steps.filter((s) => s.saga_id === saga.id) }));
}

/** Makes every active saga look stalled, as after a crash SAGA_STALL_SECONDS ago. */
export async function ageSagas(ctx: TestContext): Promise<void> {
  await ctx.runtime.db.updateTable('billing_sagas').set({ updated_at: new Date(Date.now() - 3_600_000) }).where('state', 'in', ['running', 'requires_action', 'pivoted']).execute();
}
