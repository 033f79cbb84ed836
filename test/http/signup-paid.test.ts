import t from 'tap';
import { concurrently } from '../helpers/factories.js';
import { stripeContext } from '../helpers/billing.js';
import { flowApi, readyFlow, type FlowClient } from '../helpers/signup.js';

function setCard(ctx: Parameters<typeof flowApi>[0], flow: FlowClient, paymentMethodId: string) {
  return ctx.app.inject({ method: 'PUT', url: '/v1/signup-flows/current/payment-method', headers: { cookie: flow.cookie }, payload: { paymentMethodId } });
}

t.test('paid staged sign-up: the card is recorded, then complete runs the saga: at most 4 gateway calls, one account', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const api = flowApi(ctx);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  const incomplete = await api.complete(flow);
  t.equal(incomplete.statusCode, 422);
  t.match(incomplete.json().missingFields, ['paymentMethod']);
  const bad = await setCard(ctx, flow, 'pm_nothing_here');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'invalid_payment_method');
  const set = await setCard(ctx, flow, 'pm_card_visa');
  t.equal(set.statusCode, 200, set.body);
  t.match(set.json().data.paymentMethod, { id: 'pm_card_visa', brand: 'visa', last4: '4242' });
  t.same(set.json().missingFields, []);
  const before = stripe.requests.length;
  const done = await api.complete(flow);
  t.equal(done.statusCode, 201, done.body);
  t.ok(stripe.requests.length - before <= 4, `${stripe.requests.length - before} gateway calls`);
  const { account, workspace } = done.json();
  t.equal(workspace.plan, 'pro');
  t.ok(done.cookies.find((c) => c.name === 'sid'), 'a session was opened');
  const sub = [...stripe.subscriptions.values()][0]!;
  t.equal(new Date(workspace.trialEndsAt).getTime(), Number(sub.trial_end) * 1000, 'the workspace trial ends with the gateway trial');
  const rows = await ctx.runtime.db.selectFrom('billing_customers').select('workspace_id').execute();
  t.same(rows, [{ workspace_id: workspace.id }]);
  t.equal((stripe.customers.get([...stripe.customers.keys()][0]!)!.metadata as Record<string, string>).signup_flow_id, flow.id);
  const again = await api.complete(flow);
  t.equal(again.statusCode, 200);
  t.same(again.json(), { account, workspace });
});

t.test('a declined card leaves the flow at its payment step with nothing created; another card completes', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const api = flowApi(ctx);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  await setCard(ctx, flow, 'pm_card_chargeDeclined');
  const declined = await api.complete(flow);
  t.equal(declined.statusCode, 402);
  t.match(declined.json(), { code: 'card_declined', declineCode: 'generic_decline' });
  t.equal((await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', flow.email).execute()).length, 0);
  t.same(stripe.liveCustomers(), []);
  const state = (await api.get(flow)).json();
  t.equal(state.status, 'in_progress');
  t.equal(state.currentStep, 'paymentMethod', 'back at the payment step');
  t.same(state.missingFields, ['paymentMethod']);
  t.equal(state.data.paymentMethod, null, 'the declined card is no longer on file');
  t.equal((await api.complete(flow)).statusCode, 422, 'completing again asks for another card');
  await setCard(ctx, flow, 'pm_card_mastercard');
  const done = await api.complete(flow);
  t.equal(done.statusCode, 201, done.body);
  t.equal(stripe.liveCustomers().length, 1);
});

t.test('3-D Secure during a sign-up: 409 with the client secret, then complete again continues', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const api = flowApi(ctx);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  await setCard(ctx, flow, 'pm_card_authenticationRequired');
  const action = await api.complete(flow);
  t.equal(action.statusCode, 409);
  t.equal(action.json().code, 'payment_action_required');
  stripe.finishChallenge(action.json().setupIntentId, true);
  const done = await api.complete(flow);
  t.equal(done.statusCode, 201, done.body);
  t.equal(stripe.liveCustomers().length, 1);
});

t.test('five simultaneous completes of one paid flow: one customer, one subscription, one account, the same ids', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const api = flowApi(ctx);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  await setCard(ctx, flow, 'pm_card_visa');
  const responses = await concurrently(5, () => api.complete(flow));
  t.same(responses.map((r) => r.statusCode).filter((s) => s !== 201 && s !== 200), []);
  const bodies = responses.map((r) => r.json());
  for (const body of bodies) t.same(body, bodies[0]);
  t.equal(stripe.liveCustomers().length, 1);
  t.equal(stripe.subscriptions.size, 1);
  t.equal((await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', flow.email).execute()).length, 1);
});

t.test('stopped between creating the gateway customer and recording it, the same sign-up again replays the key: one customer, one account', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const api = flowApi(ctx);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  await setCard(ctx, flow, 'pm_card_visa');
  const runner = ctx.runtime.services.sagaRunner;
  runner.crashAfter = 'customer';
  await api.complete(flow);
  runner.crashAfter = undefined;
  // As if the process died after Stripe made the customer but before the journal got its id.
  const saga = await ctx.runtime.db.selectFrom('billing_sagas').select('id').where('subject_id', '=', flow.id).executeTakeFirstOrThrow();
  await ctx.runtime.db.updateTable('billing_saga_steps').set({ status: 'started', gateway_object_id: null, finished_at: null }).where('saga_id', '=', saga.id).where('step', '=', 'customer').execute();
  t.equal(stripe.liveCustomers().length, 1, 'the gateway has the customer our journal does not know');

  const before = stripe.requests.length;
  const done = await api.complete(flow);
  t.equal(done.statusCode, 201, done.body);
  const calls = stripe.requests.slice(before);
  t.same(calls.map((r) => r.path), ['/v1/customers', '/v1/setup_intents', `/v1/customers/${stripe.liveCustomers()[0]!.id}`, '/v1/subscriptions']);
  t.ok(calls[0]!.replayed, 'the customer create was replayed with the same key, not made twice');
  t.equal(calls[0]!.idempotencyKey, `saga_${saga.id}_customer_run`);
  t.equal(stripe.liveCustomers().length, 1);
  t.equal(stripe.subscriptions.size, 1);
  const rows = await ctx.runtime.db.selectFrom('billing_customers').select(['workspace_id', 'customer_id']).execute();
  t.same(rows, [{ workspace_id: done.json().workspace.id, customer_id: stripe.liveCustomers()[0]!.id }], 'our row points at the one customer');
  t.equal((await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', flow.email).execute()).length, 1);
});
