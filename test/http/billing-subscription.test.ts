import t from 'tap';
import { addMember, concurrently, signUp } from '../helpers/factories.js';
import { billingRows, liveCustomersOf, liveSubscriptionsOf, sagasOf, stripeContext, subscribe, trialOwner } from '../helpers/billing.js';

t.test('the happy path upgrades a trial with at most 4 gateway calls, the gateway trial ending with the workspace trial', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const before = stripe.requests.length;
  const response = await subscribe(ctx, owner);
  t.equal(response.statusCode, 200, response.body);
  const calls = stripe.requests.slice(before);
  t.ok(calls.length <= 4, `${calls.length} gateway calls`);
  t.same(calls.map((c) => `${c.method} ${c.path.replace(/\/(cus|sub)_\w+/, '/:id')}`), ['POST /v1/customers', 'POST /v1/setup_intents', 'POST /v1/customers/:id', 'POST /v1/subscriptions']);
  const body = response.json();
  const workspace = await ctx.runtime.db.selectFrom('workspaces').select(['trial_ends_at', 'plan']).where('id', '=', owner.workspaceId).executeTakeFirstOrThrow();
  t.equal(workspace.plan, 'pro');
  t.match(body, { plan: 'pro', gateway: 'stripe', subscription: { plan: 'pro', status: 'trialing', cancelAtPeriodEnd: false }, paymentMethod: { brand: 'visa', last4: '4242' } });
  const gatewaySub = stripe.subscriptions.get(body.subscription.id)!;
  t.equal(gatewaySub.trial_end, Math.floor(workspace.trial_ends_at!.getTime() / 1000), 'the gateway trial ends when the workspace trial ends');
  t.equal(new Date(body.subscription.trialEnd).getTime(), Math.floor(workspace.trial_ends_at!.getTime() / 1000) * 1000);
  const customer = stripe.customers.get(body.customerId)!;
  t.equal((customer.metadata as Record<string, string>).workspace_id, owner.workspaceId, 'the customer names the workspace');
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 1, cards: 1, subscriptions: 1, plan: 'pro' });
  const [saga] = await sagasOf(ctx, owner.workspaceId);
  t.equal(saga!.state, 'completed');
  t.same(saga!.steps.map((s) => [s.step, s.status]), [['customer', 'succeeded'], ['setup_intent', 'succeeded'], ['default_payment_method', 'succeeded'], ['subscription', 'succeeded']]);
  t.same(calls.map((c) => c.idempotencyKey), saga!.steps.map((s) => s.idempotency_key), 'each call carries its step key, derived from the saga and the step');
  t.ok(saga!.steps.every((s) => s.idempotency_key === `saga_${saga!.id}_${s.step}_run`));

  const again = await subscribe(ctx, owner);
  t.equal(again.statusCode, 200);
  t.same(again.json(), body, 'a repeat answers the same billing');
  const view = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/billing`, headers: { cookie: owner.cookie } });
  t.same(view.json(), body);
  t.equal(stripe.requests.length, before + 4, 'a repeat makes no gateway call');
});

t.test('only owners see or change billing: other members 403, non-members 404, signed out 401', async (t) => {
  const { ctx } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const admin = await addMember(ctx, owner, 'admin');
  const stranger = await signUp(ctx.app);
  for (const [who, status] of [[admin, 403], [stranger, 404]] as const) {
    const get = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/billing`, headers: { cookie: who.cookie } });
    t.equal(get.statusCode, status);
    const post = await ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: who.cookie }, payload: { planId: 'pro', paymentMethodId: 'pm_card_visa' } });
    t.equal(post.statusCode, status);
    const del = await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: who.cookie } });
    t.equal(del.statusCode, status);
  }
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/billing` })).statusCode, 401);
  const free = await subscribe(ctx, owner, 'pm_card_visa', 'trial');
  t.equal(free.statusCode, 400, 'a free plan needs no subscription');
  const unknown = await subscribe(ctx, owner, 'pm_card_visa', 'gold');
  t.equal(unknown.statusCode, 400);
});

t.test('a declined card compensates at once (402 with the reason), then another card succeeds with one customer', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const declined = await subscribe(ctx, owner, 'pm_card_chargeDeclined');
  t.equal(declined.statusCode, 402);
  t.match(declined.json(), { code: 'card_declined', reason: 'Your card was declined.', declineCode: 'generic_decline' });
  t.same(liveCustomersOf(stripe, owner.workspaceId), [], 'the customer was deleted');
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' });
  const poor = await subscribe(ctx, owner, 'pm_card_insufficientFunds');
  t.equal(poor.statusCode, 402);
  t.match(poor.json(), { code: 'card_declined', declineCode: 'insufficient_funds' });
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);

  const ok = await subscribe(ctx, owner, 'pm_card_mastercard');
  t.equal(ok.statusCode, 200, ok.body);
  t.match(ok.json(), { paymentMethod: { brand: 'mastercard', last4: '4444' } });
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1, 'one customer at the gateway');
  const sagas = await sagasOf(ctx, owner.workspaceId);
  t.same(sagas.map((s) => s.state), ['failed', 'failed', 'completed']);
  t.same(sagas[0]!.steps.map((s) => [s.step, s.status]), [['customer', 'compensated'], ['setup_intent', 'failed']]);
});

t.test('3-D Secure: 409 with the client secret, then the same request after the challenge continues the same saga', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const first = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(first.statusCode, 409);
  const problem = first.json();
  t.equal(problem.code, 'payment_action_required');
  t.match(problem.clientSecret, /^seti_\w+_secret_\w+$/);
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' });
  const waiting = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(waiting.statusCode, 409, 'still waiting for the challenge');
  t.equal(waiting.json().clientSecret, problem.clientSecret);

  stripe.finishChallenge(problem.setupIntentId, true);
  const done = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(done.statusCode, 200, done.body);
  t.match(done.json(), { subscription: { status: 'trialing' }, paymentMethod: { last4: '3184' } });
  const sagas = await sagasOf(ctx, owner.workspaceId);
  t.equal(sagas.length, 1, 'one saga from the first call to the last');
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
});

t.test('3-D Secure failed: the card counts as declined and everything is undone', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const first = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  stripe.finishChallenge(first.json().setupIntentId, false);
  const failed = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(failed.statusCode, 402);
  t.equal(failed.json().code, 'card_declined');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' });
});

t.test('a saga waiting for 3-D Secure is undone when the person sends another card instead', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const first = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(first.statusCode, 409);
  const other = await subscribe(ctx, owner, 'pm_card_visa');
  t.equal(other.statusCode, 200, other.body);
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1, 'the first customer was deleted');
  t.equal(stripe.setupIntents.get(first.json().setupIntentId)!.status, 'canceled');
});

t.test('gateway errors are retried with the same key: a 500, a 429, a timeout, a connection dropped after the create', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  stripe.fail('POST', /^\/v1\/customers$/, 'drop_after_create');
  stripe.fail('POST', /^\/v1\/setup_intents$/, '500');
  stripe.fail('POST', /^\/v1\/customers\/cus_/, 'timeout');
  stripe.fail('POST', /^\/v1\/subscriptions$/, '429');
  const response = await subscribe(ctx, owner);
  t.equal(response.statusCode, 200, response.body);
  const byPath = (pattern: RegExp) => stripe.requests.filter((r) => r.method === 'POST' && pattern.test(r.path));
  for (const pattern of [/^\/v1\/customers$/, /^\/v1\/setup_intents$/, /^\/v1\/customers\/cus_/, /^\/v1\/subscriptions$/]) {
    const calls = byPath(pattern);
    t.equal(calls.length, 2, `${pattern}: one failure, one retry`);
    t.equal(calls[0]!.idempotencyKey, calls[1]!.idempotencyKey, `${pattern}: the retry used the same key`);
  }
  t.ok(byPath(/^\/v1\/customers$/)[1]!.replayed, 'the dropped create was replayed, not made twice');
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
  t.equal(liveSubscriptionsOf(stripe, owner.workspaceId).length, 1);
});

t.test('a gateway that stays down: bounded retries, then every step undone in reverse and 503 with Retry-After', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  // The SDK re-sends a closed connection once on its own (with our key); then our 3 attempts meet 500s.
  stripe.fail('POST', /^\/v1\/subscriptions$/, 'drop_after_create', 1);
  stripe.fail('POST', /^\/v1\/subscriptions$/, '500', 3);
  const response = await subscribe(ctx, owner);
  t.equal(response.statusCode, 503);
  t.equal(response.json().code, 'payment_unavailable');
  t.ok(Number(response.headers['retry-after']) > 0);
  const creates = stripe.requests.filter((r) => r.path === '/v1/subscriptions');
  t.same(creates.map((r) => r.fault ?? (r.replayed ? 'replayed' : 'ok')), ['drop_after_create', '500', '500', '500', 'replayed'], 'bounded attempts, then the replay that learns what the dropped call made');
  t.equal(new Set(creates.map((r) => r.idempotencyKey)).size, 1, 'one key throughout');
  t.same(liveSubscriptionsOf(stripe, owner.workspaceId), [], 'the subscription the dropped call made was canceled');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
  const detached = [...stripe.paymentMethods.values()].filter((pm) => pm.customer !== null && pm.id.startsWith('pm_') && !pm.id.startsWith('pm_card'));
  t.same(detached, [], 'the card was detached');
  const [saga] = await sagasOf(ctx, owner.workspaceId);
  t.match(saga, { state: 'failed', compensating: false });
  t.same(saga!.steps.map((s) => s.status), ['compensated', 'compensated', 'compensated', 'compensated']);
  const undo = stripe.requests.filter((r) => r.idempotencyKey?.endsWith('_undo')).map((r) => r.path.split('/')[2]);
  t.same(undo, ['subscriptions', 'payment_methods', 'customers'], 'compensation runs in reverse order');
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' });
});

t.test('compensation that cannot reach the gateway is left to recovery, which finishes it', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  stripe.fail('POST', /^\/v1\/subscriptions$/, '500', 3);
  stripe.fail('DELETE', /^\/v1\/customers\//, '500', 3);
  const response = await subscribe(ctx, owner);
  t.equal(response.statusCode, 503);
  let [saga] = await sagasOf(ctx, owner.workspaceId);
  t.match(saga, { state: 'running', compensating: true });
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1, 'the customer is still there for now');
  await ctx.runtime.db.updateTable('billing_sagas').set({ updated_at: new Date(Date.now() - 3_600_000) }).execute();
  t.equal(await ctx.runtime.services.billing.recover(), 1);
  [saga] = await sagasOf(ctx, owner.workspaceId);
  t.equal(saga!.state, 'failed');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
});

t.test('five simultaneous upgrades make one customer and one subscription, and every answer names them', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const responses = await concurrently(5, () => subscribe(ctx, owner));
  t.same(responses.map((r) => r.statusCode), [200, 200, 200, 200, 200]);
  const bodies = responses.map((r) => r.json());
  for (const body of bodies) t.same(body, bodies[0]);
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
  t.equal(liveSubscriptionsOf(stripe, owner.workspaceId).length, 1);
  t.equal(stripe.writes().filter((r) => r.path === '/v1/customers').length, 1);
  t.equal((await sagasOf(ctx, owner.workspaceId)).length, 1);
});

t.test('a failure of the local commit undoes the gateway side; a retry then makes one customer and no half-made billing', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const { sql } = await import('kysely');
  await sql`create function fail_subscription() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(ctx.runtime.db);
  await sql`create trigger fail_subscription before insert on subscriptions for each row execute function fail_subscription()`.execute(ctx.runtime.db);
  const failed = await subscribe(ctx, owner);
  t.equal(failed.statusCode, 500);
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' }, 'the pivot left nothing behind');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
  t.same(liveSubscriptionsOf(stripe, owner.workspaceId), []);
  await sql`drop trigger fail_subscription on subscriptions`.execute(ctx.runtime.db);
  const retried = await subscribe(ctx, owner);
  t.equal(retried.statusCode, 200);
  t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 1, cards: 1, subscriptions: 1, plan: 'pro' });
});

t.test('a workspace closed during the saga: 409 workspace_closed and the gateway side undone', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  ctx.runtime.services.sagaRunner.crashAfter = 'subscription';
  t.equal((await subscribe(ctx, owner)).statusCode, 500);
  ctx.runtime.services.sagaRunner.crashAfter = undefined;
  await ctx.runtime.db.updateTable('workspaces').set({ status: 'closed', closed_at: new Date() }).where('id', '=', owner.workspaceId).execute();
  const response = await subscribe(ctx, owner);
  t.equal(response.statusCode, 409);
  t.equal(response.json().code, 'workspace_closed');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
  t.same(liveSubscriptionsOf(stripe, owner.workspaceId), []);
});

t.test('cancel at period end, idempotent; replacing the card detaches the old one', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const subscribed = (await subscribe(ctx, owner)).json();
  const oldCard = subscribed.paymentMethod.id;
  const replaced = await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/billing/payment-method`, headers: { cookie: owner.cookie }, payload: { paymentMethodId: 'pm_card_mastercard' } });
  t.equal(replaced.statusCode, 200, replaced.body);
  const body = replaced.json();
  t.match(body.paymentMethod, { brand: 'mastercard', last4: '4444' });
  t.equal(stripe.paymentMethods.get(oldCard)!.customer, null, 'the old card was detached');
  t.equal(stripe.subscriptions.get(body.subscription.id)!.default_payment_method, body.paymentMethod.id);
  t.equal((stripe.customers.get(body.customerId)!.invoice_settings as { default_payment_method: string }).default_payment_method, body.paymentMethod.id);
  const cards = await ctx.runtime.db.selectFrom('payment_methods').select(['gateway_id', 'is_default']).where('workspace_id', '=', owner.workspaceId).execute();
  t.same(cards, [{ gateway_id: body.paymentMethod.id, is_default: true }]);

  const declined = await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/billing/payment-method`, headers: { cookie: owner.cookie }, payload: { paymentMethodId: 'pm_card_chargeDeclined' } });
  t.equal(declined.statusCode, 402);
  t.match((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/billing`, headers: { cookie: owner.cookie } })).json().paymentMethod, { last4: '4444' });

  const canceled = await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: owner.cookie } });
  t.equal(canceled.statusCode, 200);
  t.match(canceled.json().subscription, { status: 'trialing', cancelAtPeriodEnd: true });
  t.equal(stripe.subscriptions.get(body.subscription.id)!.cancel_at_period_end, true);
  const again = await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, headers: { cookie: owner.cookie } });
  t.equal(again.statusCode, 200);
  t.equal(stripe.requests.filter((r) => r.path === `/v1/subscriptions/${body.subscription.id}` && r.method === 'POST').length, 2, 'one card change and one cancel; the repeat made no call');
});
