import t from 'tap';
import { GatewayEventRepository } from '../../src/repositories/billing/gateway-event-repository.js';
import { LocalGatewayRepository } from '../../src/repositories/billing/local-gateway-repository.js';
import { LocalGateway } from '../../src/services/billing/adapters/local-gateway.js';
import { CardDeclinedError, GatewayRejectedError } from '../../src/services/billing/payment-gateway.js';
import { testContext } from '../helpers/app.js';
import { billingRows, sagasOf, subscribe, trialOwner } from '../helpers/billing.js';
import { concurrently } from '../helpers/factories.js';

t.test('the local gateway: test cards, idempotent replay, a reused key with other parameters refused', async (t) => {
  const ctx = await testContext(t);
  const db = ctx.runtime.db;
  const gateway = new LocalGateway(db, new LocalGatewayRepository(db), new GatewayEventRepository(db));
  const customer = await gateway.createCustomer({ email: 'a@example.com', name: 'A', metadata: { flow: 'f1' } }, { idempotencyKey: 'k-customer' });
  const replay = await gateway.createCustomer({ email: 'a@example.com', name: 'A', metadata: { flow: 'f1' } }, { idempotencyKey: 'k-customer' });
  t.equal(replay.id, customer.id, 'the same key replays');
  await t.rejects(gateway.createCustomer({ email: 'b@example.com', name: 'B', metadata: {} }, { idempotencyKey: 'k-customer' }), GatewayRejectedError);
  t.same(await gateway.retrieveCustomer(customer.id), { id: customer.id, metadata: { flow: 'f1' } });

  t.match(await gateway.retrievePaymentMethod('pm_card_visa'), { brand: 'visa', last4: '4242' });
  t.equal(await gateway.retrievePaymentMethod('pm_nothing'), undefined);
  const ok = await gateway.confirmSetupIntent({ customerId: customer.id, paymentMethodId: 'pm_card_mastercard', metadata: {} }, { idempotencyKey: 'k-si' });
  t.match(ok, { status: 'succeeded', card: { brand: 'mastercard', last4: '4444' } });
  for (const [pm, code] of [['pm_card_chargeDeclined', 'generic_decline'], ['pm_card_insufficientFunds', 'insufficient_funds']] as const) {
    const declined = await gateway.confirmSetupIntent({ customerId: customer.id, paymentMethodId: pm, metadata: {} }, { idempotencyKey: `k-${pm}` }).catch((e: unknown) => e);
    t.ok(declined instanceof CardDeclinedError);
    t.equal((declined as CardDeclinedError).declineCode, code);
    const replayed = await gateway.confirmSetupIntent({ customerId: customer.id, paymentMethodId: pm, metadata: {} }, { idempotencyKey: `k-${pm}` }).catch((e: unknown) => e);
    t.ok(replayed instanceof CardDeclinedError, 'a decline is replayed too');
  }
  const challenge = await gateway.confirmSetupIntent({ customerId: customer.id, paymentMethodId: 'pm_card_authenticationRequired', metadata: {} }, { idempotencyKey: 'k-3ds' });
  t.equal(challenge.status, 'requires_action');
  t.equal((await gateway.finishChallenge(challenge.setupIntentId, true)).status, 'succeeded');

  const card = (ok as { card: { paymentMethodId: string } }).card.paymentMethodId;
  await gateway.setDefaultPaymentMethod(customer.id, card, { idempotencyKey: 'k-default' });
  const trialEnd = new Date(Date.now() + 7 * 86_400_000);
  const sub = await gateway.createSubscription({ customerId: customer.id, priceId: 'price_pro_monthly', trialEnd, paymentMethodId: card, metadata: {} }, { idempotencyKey: 'k-sub' });
  t.match(sub, { status: 'trialing', priceId: 'price_pro_monthly' });
  t.equal(sub.trialEnd!.getTime(), trialEnd.getTime());
  t.ok(sub.createdAt instanceof Date);
  const ending = await gateway.cancelSubscription(sub.id, 'at_period_end', { idempotencyKey: 'k-cancel-later' });
  t.equal(ending!.cancelAtPeriodEnd, true);
  await gateway.deleteCustomer(customer.id, { idempotencyKey: 'k-delete' });
  await gateway.deleteCustomer(customer.id, { idempotencyKey: 'k-delete-again' });
  t.equal(await gateway.retrieveCustomer(customer.id), undefined, 'deleted; a second delete is done too');
  t.equal((await gateway.retrieveSubscription(sub.id))!.status, 'canceled', 'deleting the customer canceled its subscription');
  const types = await db.selectFrom('gateway_events').select('type').orderBy('received_at').execute();
  t.same(types.map((e) => e.type), ['setup_intent.succeeded', 'setup_intent.succeeded', 'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted']);
});

t.test('the whole paid flow on the local gateway over HTTP: decline, 3-D Secure through the challenge route, five at once', async (t) => {
  const ctx = await testContext(t);
  const owner = await trialOwner(ctx);
  const declined = await subscribe(ctx, owner, 'pm_card_chargeDeclined');
  t.equal(declined.statusCode, 402);
  const action = await subscribe(ctx, owner, 'pm_card_authenticationRequired');
  t.equal(action.statusCode, 409);
  const { setupIntentId } = action.json();
  const finished = await ctx.app.inject({ method: 'POST', url: `/v1/local-gateway/setup-intents/${setupIntentId}/challenge`, payload: { succeeded: true } });
  t.same(finished.json(), { setupIntentId, status: 'succeeded' });
  const responses = await concurrently(5, () => subscribe(ctx, owner, 'pm_card_authenticationRequired'));
  t.same(responses.map((r) => r.statusCode), [200, 200, 200, 200, 200]);
  t.match(responses[0]!.json(), { gateway: 'local', plan: 'pro', subscription: { status: 'trialing' }, paymentMethod: { last4: '3184' } });
  for (const r of responses) t.same(r.json(), responses[0]!.json());
  t.same(await billingRows(ctx, owner.workspaceId), { customers: 1, cards: 1, subscriptions: 1, plan: 'pro' });
  const sagas = await sagasOf(ctx, owner.workspaceId);
  t.same(sagas.map((s) => s.state), ['failed', 'completed']);
  const customers = await ctx.runtime.db.selectFrom('local_gateway_objects').select(['id', 'deleted_at']).where('type', '=', 'customer').execute();
  t.equal(customers.filter((c) => c.deleted_at === null).length, 1, 'the declined attempt left no customer');
  const missing = await ctx.app.inject({ method: 'POST', url: '/v1/local-gateway/setup-intents/seti_nothing/challenge', payload: { succeeded: true } });
  t.equal(missing.statusCode, 404);
});
