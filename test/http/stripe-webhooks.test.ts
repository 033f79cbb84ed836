import { sql } from 'kysely';
import t from 'tap';
import type { TestContext } from '../helpers/app.js';
import { sagasOf, stripeContext, subscribe, trialOwner } from '../helpers/billing.js';
import type { StandInObject, StripeStandIn } from '../helpers/stripe-stand-in.js';

function deliver(ctx: TestContext, delivery: { payload: string; signature: string }) {
  return ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': delivery.signature }, payload: delivery.payload });
}

async function subscription(ctx: TestContext, gatewayId: string) {
  return ctx.runtime.db.selectFrom('subscriptions').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirstOrThrow();
}

/** Runs the processing jobs, including ones waiting for their retry. */
async function processEvents(ctx: TestContext) {
  await sql`update graphile_worker._private_jobs set run_at = now() where task_id = (select id from graphile_worker._private_tasks where identifier = 'process_gateway_event')`.execute(ctx.runtime.db);
  await ctx.runJobs();
}

async function subscribed(ctx: TestContext, stripe: StripeStandIn) {
  const owner = await trialOwner(ctx);
  const body = (await subscribe(ctx, owner)).json();
  return { owner, sub: stripe.subscriptions.get(body.subscription.id)! };
}

const at = (sub: StandInObject, change: Record<string, unknown>) => ({ ...sub, ...change });

t.test('a bad or missing signature is refused with 400 and nothing is recorded', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const delivery = stripe.webhook('customer.subscription.updated', { id: 'sub_x', object: 'subscription', status: 'active' });
  const tampered = await deliver(ctx, { payload: delivery.payload.replace('active', 'canceled'), signature: delivery.signature });
  t.equal(tampered.statusCode, 400);
  t.equal(tampered.json().code, 'invalid_signature');
  const unsigned = await ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers: { 'content-type': 'application/json' }, payload: delivery.payload });
  t.equal(unsigned.statusCode, 400);
  const count = await ctx.runtime.db.selectFrom('gateway_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(count.n), 0);
});

t.test('subscription updated and deleted, invoice failed and paid; a duplicate delivery changes nothing', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const { sub } = await subscribed(ctx, stripe);
  const base = Math.floor(Date.now() / 1000) + 10;
  const failed = stripe.webhook('invoice.payment_failed', { id: 'in_1', object: 'invoice', parent: { subscription_details: { subscription: sub.id } } }, { created: base });
  const first = await deliver(ctx, failed);
  t.same(first.json(), { received: true, duplicate: false });
  const again = await deliver(ctx, failed);
  t.same(again.json(), { received: true, duplicate: true }, 'idempotent by event id');
  await processEvents(ctx);
  t.equal((await subscription(ctx, sub.id)).status, 'past_due');
  const events = await ctx.runtime.db.selectFrom('gateway_events').selectAll().where('event_id', '=', failed.id).execute();
  t.equal(events.length, 1);
  t.equal(events[0]!.outcome, 'applied');

  await deliver(ctx, stripe.webhook('invoice.payment_succeeded', { id: 'in_2', object: 'invoice', subscription: sub.id }, { created: base + 1 }));
  await processEvents(ctx);
  t.equal((await subscription(ctx, sub.id)).status, 'active');

  await deliver(ctx, stripe.webhook('customer.subscription.updated', at(sub, { status: 'active', cancel_at_period_end: true }), { created: base + 2 }));
  await processEvents(ctx);
  t.match(await subscription(ctx, sub.id), { status: 'active', cancel_at_period_end: true });

  await deliver(ctx, stripe.webhook('customer.subscription.deleted', at(sub, { status: 'canceled', canceled_at: base + 3 }), { created: base + 3 }));
  await processEvents(ctx);
  t.equal((await subscription(ctx, sub.id)).status, 'canceled');
  const outbox = await ctx.runtime.db
    .selectFrom('events')
    .select(['type', 'data'])
    .where('type', 'like', 'billing.%')
    .where('workspace_id', '=', (eb) => eb.selectFrom('subscriptions').select('workspace_id').where('gateway_id', '=', sub.id))
    .orderBy('sequence')
    .execute();
  t.same(
    outbox.map((e) => e.type),
    ['billing.subscribed', 'billing.payment_failed', 'billing.subscription_updated', 'billing.subscription_updated'],
    'each applied change is an outbox event, in order; the duplicate delivery added none',
  );
  t.match(outbox[3]!.data, { subscriptionId: sub.id, status: 'canceled' });
  await deliver(ctx, stripe.webhook('setup_intent.succeeded', { id: 'seti_x', object: 'setup_intent', status: 'succeeded', customer: sub.customer }, { created: base + 4 }));
  await processEvents(ctx);
  const ignored = await ctx.runtime.db.selectFrom('gateway_events').select('outcome').where('type', '=', 'setup_intent.succeeded').executeTakeFirstOrThrow();
  t.equal(ignored.outcome, 'ignored');
});

t.test('events out of order never move a subscription backwards', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const { sub } = await subscribed(ctx, stripe);
  const base = Math.floor(Date.now() / 1000) + 10;
  // Newer first: past_due at base+20, then an older "active" at base+10 arrives.
  await deliver(ctx, stripe.webhook('customer.subscription.updated', at(sub, { status: 'past_due' }), { created: base + 20 }));
  await deliver(ctx, stripe.webhook('customer.subscription.updated', at(sub, { status: 'active' }), { created: base + 10 }));
  await processEvents(ctx);
  t.equal((await subscription(ctx, sub.id)).status, 'past_due', 'the older event was stale');
  // Deleted, then an update (even a newer one) cannot bring it back: canceled is final.
  await deliver(ctx, stripe.webhook('customer.subscription.deleted', at(sub, { status: 'canceled', canceled_at: base + 30 }), { created: base + 30 }));
  await processEvents(ctx);
  await deliver(ctx, stripe.webhook('customer.subscription.updated', at(sub, { status: 'active' }), { created: base + 25 }));
  await deliver(ctx, stripe.webhook('customer.subscription.updated', at(sub, { status: 'active' }), { created: base + 40 }));
  await processEvents(ctx);
  t.equal((await subscription(ctx, sub.id)).status, 'canceled');
  const outcomes = await ctx.runtime.db.selectFrom('gateway_events').select('outcome').where('type', '=', 'customer.subscription.updated').orderBy('created_at').execute();
  t.same(outcomes.map((o) => o.outcome), ['stale', 'applied', 'stale', 'stale']);
});

t.test('a webhook that arrives before the commit is kept (a warning, not an error) and applied once the saga commits', async (t) => {
  const { ctx, stripe } = await stripeContext(t, { captureLogs: true });
  const owner = await trialOwner(ctx);
  ctx.runtime.services.sagaRunner.crashAfter = 'subscription';
  t.equal((await subscribe(ctx, owner)).statusCode, 500);
  ctx.runtime.services.sagaRunner.crashAfter = undefined;
  const [saga] = await sagasOf(ctx, owner.workspaceId);
  const subId = saga!.steps.find((s) => s.step === 'subscription')!.gateway_object_id!;
  const early = stripe.webhook('invoice.payment_failed', { id: 'in_early', object: 'invoice', parent: { subscription_details: { subscription: subId } } }, { created: Math.floor(Date.now() / 1000) + 5 });
  t.equal((await deliver(ctx, early)).statusCode, 200);
  await processEvents(ctx);
  let row = await ctx.runtime.db.selectFrom('gateway_events').selectAll().where('event_id', '=', early.id).executeTakeFirstOrThrow();
  t.equal(row.processed_at, null, 'not dropped: waiting for its subscription');
  t.equal(row.attempts, 1);
  t.match(row.last_error, /No subscription/);
  const waits = (level: number) => ctx.logs().split('\n').filter((line) => line.includes(`"level":${level}`) && line.includes(`No subscription ${subId} is known yet`));
  t.equal(waits(50).length, 0, 'an expected wait is not logged as an error');
  t.match(waits(40), [/"msg":"Task \d+ \(process_gateway_event, attempt 1 of 20\) waits: No subscription sub_\w+ is known yet; the event is retried later\."/]);
  // Its last attempt is a real failure: an error.
  await sql`update graphile_worker._private_jobs set max_attempts = 2 where key = ${`gateway_event:${early.id}`}`.execute(ctx.runtime.db);
  await processEvents(ctx);
  t.equal(waits(50).length, 1, 'the last attempt is logged as an error');

  // The same request again finishes the saga; its pivot queues the waiting event at once.
  t.equal((await subscribe(ctx, owner)).statusCode, 200);
  await ctx.runJobs();
  row = await ctx.runtime.db.selectFrom('gateway_events').selectAll().where('event_id', '=', early.id).executeTakeFirstOrThrow();
  t.equal(row.outcome, 'applied');
  t.equal((await subscription(ctx, subId)).status, 'past_due');
});

t.test('with the local gateway, Stripe webhooks are not configured (404) and the local gateway records the same events itself', async (t) => {
  const { testContext } = await import('../helpers/app.js');
  const ctx = await testContext(t);
  const response = await ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' }, payload: '{}' });
  t.equal(response.statusCode, 404);
  const owner = await trialOwner(ctx);
  t.equal((await subscribe(ctx, owner)).statusCode, 200);
  await ctx.runJobs();
  const events = await ctx.runtime.db.selectFrom('gateway_events').select(['type', 'gateway', 'outcome']).orderBy('received_at').execute();
  t.same(events, [
    { type: 'setup_intent.succeeded', gateway: 'local', outcome: 'ignored' },
    { type: 'customer.subscription.created', gateway: 'local', outcome: 'applied' },
  ]);
  const canceled = await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: owner.cookie } });
  t.equal(canceled.statusCode, 200);
  await ctx.runJobs();
  const last = await ctx.runtime.db.selectFrom('gateway_events').select(['type', 'outcome']).orderBy('received_at', 'desc').executeTakeFirstOrThrow();
  t.equal(last.type, 'customer.subscription.updated');
  t.match(canceled.json().subscription, { cancelAtPeriodEnd: true });
});

t.test('setup_intent.succeeded after 3-D Secure drives the waiting upgrade on, even if the browser never calls again', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const action = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(action.statusCode, 409);
  const { setupIntentId } = action.json();
  stripe.finishChallenge(setupIntentId, true);
  const delivery = stripe.webhook('setup_intent.succeeded', stripe.setupIntents.get(setupIntentId)!);
  t.equal((await deliver(ctx, delivery)).statusCode, 200);
  await processEvents(ctx);
  const row = await ctx.runtime.db.selectFrom('gateway_events').select('outcome').where('event_id', '=', delivery.id).executeTakeFirstOrThrow();
  t.equal(row.outcome, 'applied');
  const billing = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/billing`, headers: { cookie: owner.cookie } });
  t.match(billing.json(), { plan: 'pro', subscription: { status: 'trialing' }, paymentMethod: { last4: '3184' } });
  const [saga] = await sagasOf(ctx, owner.workspaceId);
  t.equal(saga!.state, 'completed');
});
