import { createHash, randomBytes } from 'node:crypto';
import type { Db, Tx } from '../../../db/database.js';
import type { GatewayEventRepository } from '../../../repositories/billing/gateway-event-repository.js';
import type { LocalGatewayRepository, LocalObject } from '../../../repositories/billing/local-gateway-repository.js';
import { eventPayload } from '../gateway-events.js';
import { CardDeclinedError, GatewayRejectedError } from '../payment-gateway.js';
import type * as Port from '../payment-gateway.js';

/**
 * Stripe's test payment methods (https://docs.stripe.com/testing#cards), which the local gateway
 * understands, and what each does.
 */
export const LOCAL_TEST_CARDS: Record<string, { brand: string; last4: string; outcome: 'ok' | 'declined' | 'insufficient_funds' | 'authentication_required' }> = {
  pm_card_visa: { brand: 'visa', last4: '4242', outcome: 'ok' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', outcome: 'ok' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', outcome: 'declined' },
  pm_card_insufficientFunds: { brand: 'visa', last4: '9995', outcome: 'insufficient_funds' },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', outcome: 'authentication_required' },
};

const DAY_MS = 86_400_000;
const newId = (prefix: string) => `${prefix}_local_${randomBytes(10).toString('hex')}`;

interface Card {
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  outcome: string;
  customerId: string | null;
}
interface Intent {
  customerId: string;
  paymentMethodId: string | null;
  status: 'succeeded' | 'requires_action' | 'requires_payment_method' | 'canceled';
  clientSecret: string;
  metadata: Record<string, string>;
  lastError: { reason: string; declineCode: string | null } | null;
}
interface Sub {
  customerId: string;
  priceId: string;
  status: Port.SubscriptionState['status'];
  trialEnd: string | null;
  currentPeriodEnd: string;
  cancelAtPeriodEnd: boolean;
  canceledAt: string | null;
  paymentMethodId: string;
  createdAt: string;
  metadata: Record<string, string>;
}

/** Thrown inside the local transaction to store a refusal as the key's answer. */
class Refusal extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super('refused');
  }
}

/**
 * The local gateway: the default when STRIPE_SECRET_KEY is unset, so the whole paid flow runs with no
 * account anywhere. It keeps its objects in PostgreSQL, replays an idempotency key's first answer
 * (and refuses the key with other parameters, as Stripe does), and records the events Stripe would
 * send by webhook in the same transaction as the change, so they are processed by the same code.
 */
export class LocalGateway implements Port.PaymentGateway {
  readonly name = 'local' as const;

  constructor(
    private readonly db: Db,
    private readonly objects: LocalGatewayRepository,
    private readonly events: GatewayEventRepository,
  ) {}

  createCustomer(input: { email: string; name: string; metadata: Record<string, string> }, options: Port.WriteOptions) {
    return this.idempotent(options, ['customers.create', input], async (repo) => {
      const id = newId('cus');
      await repo.insert(id, 'customer', { ...input, defaultPaymentMethodId: null });
      return { id };
    });
  }

  async retrieveCustomer(customerId: string) {
    const customer = await this.objects.find(customerId);
    if (!customer || customer.type !== 'customer' || customer.deleted) return undefined;
    return { id: customer.id, metadata: (customer.data.metadata ?? {}) as Record<string, string> };
  }

  async deleteCustomer(customerId: string, options: Port.WriteOptions) {
    await this.idempotent(options, ['customers.del', customerId], async (repo, emit) => {
      const customer = await repo.find(customerId, { lock: true });
      if (!customer || customer.deleted) return {};
      // Deleting a customer cancels its subscriptions at once and detaches its cards, as at Stripe.
      for (const object of await repo.listBy('subscription', 'customerId', customerId)) {
        const sub = object.data as unknown as Sub;
        if (sub.status === 'canceled') continue;
        const canceled = { ...sub, status: 'canceled' as const, canceledAt: new Date().toISOString() };
        await repo.update(object.id, canceled as unknown as Record<string, unknown>);
        emit('customer.subscription.deleted', object.id, { subscription: subscriptionState(object.id, canceled) });
      }
      for (const card of await repo.listBy('payment_method', 'customerId', customerId)) await repo.update(card.id, { ...card.data, customerId: null });
      await repo.markDeleted(customerId);
      return {};
    });
  }

  async retrievePaymentMethod(paymentMethodId: string): Promise<Port.CardDetails | undefined> {
    const test = LOCAL_TEST_CARDS[paymentMethodId];
    if (test) return { paymentMethodId, brand: test.brand, last4: test.last4, expMonth: 12, expYear: new Date().getUTCFullYear() + 3 };
    const card = await this.objects.find(paymentMethodId);
    return card && card.type === 'payment_method' ? cardDetails(card) : undefined;
  }

  async confirmSetupIntent(input: { customerId: string; paymentMethodId: string; metadata: Record<string, string> }, options: Port.WriteOptions) {
    return this.idempotent(options, ['setup_intents.create', input], async (repo, emit) => {
      const customer = await repo.find(input.customerId);
      if (!customer || customer.deleted) throw missing(input.customerId);
      const template = LOCAL_TEST_CARDS[input.paymentMethodId];
      const stored = template ? undefined : await repo.find(input.paymentMethodId);
      if (!template && (!stored || stored.type !== 'payment_method')) throw missing(input.paymentMethodId);
      const outcome = template?.outcome ?? String((stored!.data as unknown as Card).outcome);
      const intentId = newId('seti');
      const intent: Intent = { customerId: input.customerId, paymentMethodId: null, status: 'succeeded', clientSecret: `${intentId}_secret_${randomBytes(12).toString('hex')}`, metadata: input.metadata, lastError: null };
      if (outcome === 'declined' || outcome === 'insufficient_funds') {
        const declineCode = outcome === 'declined' ? 'generic_decline' : 'insufficient_funds';
        const reason = outcome === 'declined' ? 'Your card was declined.' : 'Your card has insufficient funds.';
        await repo.insert(intentId, 'setup_intent', { ...intent, status: 'requires_payment_method', lastError: { reason, declineCode } });
        throw new Refusal(402, { reason, declineCode });
      }
      // As at Stripe, confirming with a test id attaches a new payment method made from it.
      const cardId = newId('pm');
      const base = template ? { brand: template.brand, last4: template.last4, expMonth: 12, expYear: new Date().getUTCFullYear() + 3 } : (stored!.data as unknown as Card);
      const needsChallenge = outcome === 'authentication_required';
      const card: Card = { brand: base.brand, last4: base.last4, expMonth: base.expMonth, expYear: base.expYear, outcome, customerId: needsChallenge ? null : input.customerId };
      await repo.insert(cardId, 'payment_method', card as unknown as Record<string, unknown>);
      const saved: Intent = { ...intent, paymentMethodId: cardId, status: needsChallenge ? 'requires_action' : 'succeeded' };
      await repo.insert(intentId, 'setup_intent', saved as unknown as Record<string, unknown>);
      if (!needsChallenge) emit('setup_intent.succeeded', intentId, { setupIntent: setupIntentEvent(intentId, saved) });
      return intentResult(intentId, saved, card, cardId);
    });
  }

  async retrieveSetupIntent(setupIntentId: string) {
    const intent = await this.objects.find(setupIntentId);
    if (!intent || intent.type !== 'setup_intent') throw new GatewayRejectedError(`No such SetupIntent: '${setupIntentId}'`, 'resource_missing');
    const data = intent.data as unknown as Intent;
    const card = data.paymentMethodId ? await this.objects.find(data.paymentMethodId) : undefined;
    return intentResult(setupIntentId, data, card?.data as unknown as Card | undefined, data.paymentMethodId);
  }

  /** What the browser does with Stripe.js after the 3-D Secure challenge: succeeds or fails it. */
  async finishChallenge(setupIntentId: string, succeeded: boolean): Promise<Port.SetupIntentResult> {
    const events: PendingEvent[] = [];
    await this.db.transaction().execute(async (trx) => {
      const repo = this.objects.withTx(trx);
      const intent = await repo.find(setupIntentId, { lock: true });
      if (!intent || intent.type !== 'setup_intent') throw new GatewayRejectedError(`No such SetupIntent: '${setupIntentId}'`, 'resource_missing');
      const data = intent.data as unknown as Intent;
      if (data.status !== 'requires_action') return;
      if (succeeded && data.paymentMethodId) {
        const card = await repo.find(data.paymentMethodId);
        if (card) await repo.update(card.id, { ...card.data, customerId: data.customerId });
        const done: Intent = { ...data, status: 'succeeded' };
        await repo.update(setupIntentId, done as unknown as Record<string, unknown>);
        events.push({ type: 'setup_intent.succeeded', objectId: setupIntentId, extra: { setupIntent: setupIntentEvent(setupIntentId, done) } });
      } else {
        await repo.update(setupIntentId, { ...data, status: 'requires_payment_method', paymentMethodId: null, lastError: { reason: 'The card could not be authenticated.', declineCode: 'authentication_failed' } });
      }
      await this.record(trx, events);
    });
    return this.retrieveSetupIntent(setupIntentId);
  }

  async cancelSetupIntent(setupIntentId: string, options: Port.WriteOptions) {
    await this.idempotent(options, ['setup_intents.cancel', setupIntentId], async (repo) => {
      const intent = await repo.find(setupIntentId, { lock: true });
      if (!intent) return {};
      const data = intent.data as unknown as Intent;
      if (data.status === 'requires_action' || data.status === 'requires_payment_method') await repo.update(setupIntentId, { ...data, status: 'canceled' });
      return {};
    });
  }

  async detachPaymentMethod(paymentMethodId: string, options: Port.WriteOptions) {
    await this.idempotent(options, ['payment_methods.detach', paymentMethodId], async (repo) => {
      const card = await repo.find(paymentMethodId, { lock: true });
      if (card && card.data.customerId) await repo.update(paymentMethodId, { ...card.data, customerId: null });
      return {};
    });
  }

  async setDefaultPaymentMethod(customerId: string, paymentMethodId: string, options: Port.WriteOptions) {
    await this.idempotent(options, ['customers.update', customerId, paymentMethodId], async (repo) => {
      const customer = await repo.find(customerId, { lock: true });
      if (!customer || customer.deleted) throw missing(customerId);
      const card = await repo.find(paymentMethodId);
      if (!card || card.data.customerId !== customerId) throw new Refusal(400, { message: 'The payment method is not attached to this customer.', code: 'resource_missing' });
      await repo.update(customerId, { ...customer.data, defaultPaymentMethodId: paymentMethodId });
      return {};
    });
  }

  createSubscription(
    input: { customerId: string; priceId: string; trialEnd: Date | null; paymentMethodId: string; metadata: Record<string, string> },
    options: Port.WriteOptions,
  ) {
    return this.idempotent(options, ['subscriptions.create', input], async (repo, emit) => {
      const customer = await repo.find(input.customerId);
      if (!customer || customer.deleted) throw missing(input.customerId);
      const id = newId('sub');
      const trialEnd = input.trialEnd && input.trialEnd.getTime() > Date.now() ? input.trialEnd : null;
      const sub: Sub = {
        customerId: input.customerId,
        priceId: input.priceId,
        status: trialEnd ? 'trialing' : 'active',
        trialEnd: trialEnd?.toISOString() ?? null,
        currentPeriodEnd: (trialEnd ?? new Date(Date.now() + 30 * DAY_MS)).toISOString(),
        cancelAtPeriodEnd: false,
        canceledAt: null,
        paymentMethodId: input.paymentMethodId,
        createdAt: new Date().toISOString(),
        metadata: input.metadata,
      };
      await repo.insert(id, 'subscription', sub as unknown as Record<string, unknown>);
      const state = subscriptionState(id, sub);
      emit('customer.subscription.created', id, { subscription: state });
      return state;
    });
  }

  async retrieveSubscription(subscriptionId: string) {
    const sub = await this.objects.find(subscriptionId);
    return sub && sub.type === 'subscription' ? subscriptionState(sub.id, sub.data as unknown as Sub) : undefined;
  }

  setSubscriptionPaymentMethod(subscriptionId: string, paymentMethodId: string, options: Port.WriteOptions) {
    return this.updateSubscription(options, ['subscriptions.update', subscriptionId, paymentMethodId], subscriptionId, (sub) => ({ ...sub, paymentMethodId }));
  }

  async cancelSubscription(subscriptionId: string, mode: 'now' | 'at_period_end', options: Port.WriteOptions) {
    const current = await this.objects.find(subscriptionId);
    if (!current || (current.data as unknown as Sub).status === 'canceled') {
      if (mode === 'now') return current ? subscriptionState(current.id, current.data as unknown as Sub) : undefined;
    }
    return this.updateSubscription(options, ['subscriptions.cancel', subscriptionId, mode], subscriptionId, (sub) =>
      mode === 'now' ? { ...sub, status: 'canceled', canceledAt: new Date().toISOString() } : { ...sub, cancelAtPeriodEnd: true },
    );
  }

  private updateSubscription(options: Port.WriteOptions, params: unknown[], subscriptionId: string, change: (sub: Sub) => Sub): Promise<Port.SubscriptionState> {
    return this.idempotent(options, params, async (repo, emit) => {
      const object = await repo.find(subscriptionId, { lock: true });
      if (!object || object.type !== 'subscription') throw missing(subscriptionId);
      const before = object.data as unknown as Sub;
      if (before.status === 'canceled') throw new Refusal(400, { message: 'A canceled subscription cannot be changed.', code: 'resource_missing' });
      const after = change(before);
      await repo.update(subscriptionId, after as unknown as Record<string, unknown>);
      const state = subscriptionState(subscriptionId, after);
      emit(after.status === 'canceled' ? 'customer.subscription.deleted' : 'customer.subscription.updated', subscriptionId, { subscription: state });
      return state;
    });
  }

  /**
   * Runs a write once per idempotency key: the key's first answer (success or refusal) is stored in
   * the same transaction as the change and its events, and replayed for the same parameters.
   */
  private async idempotent<T>(options: Port.WriteOptions, params: unknown, run: (repo: LocalGatewayRepository, emit: (type: string, objectId: string, extra: Partial<Port.GatewayEvent>) => void) => Promise<T>): Promise<T> {
    const requestHash = createHash('sha256').update(JSON.stringify(params)).digest('hex');
    const response = await this.db.transaction().execute(async (trx) => {
      const repo = this.objects.withTx(trx);
      await repo.lockKey(options.idempotencyKey);
      const stored = await repo.findResponse(options.idempotencyKey);
      if (stored) {
        if (stored.requestHash !== requestHash) {
          return { status: 400, body: { message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.', code: 'idempotency_key_in_use' } };
        }
        return stored.response;
      }
      const events: PendingEvent[] = [];
      let answer: { status: number; body: Record<string, unknown> };
      try {
        const body = await run(repo, (type, objectId, extra) => events.push({ type, objectId, extra }));
        answer = { status: 200, body: { result: body as unknown } };
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        answer = { status: error.status, body: error.body };
      }
      await repo.insertResponse(options.idempotencyKey, requestHash, answer);
      await this.record(trx, events);
      return answer;
    });
    if (response.status === 402) throw new CardDeclinedError(String(response.body.reason), (response.body.declineCode as string | null) ?? null);
    if (response.status !== 200) throw new GatewayRejectedError(String(response.body.message), (response.body.code as string | undefined) ?? null);
    return revive(response.body.result) as T;
  }

  private async record(trx: Tx, events: PendingEvent[]): Promise<void> {
    for (const pending of events) {
      const event: Port.GatewayEvent = { id: newId('evt'), type: pending.type, createdAt: new Date(), objectId: pending.objectId, ...pending.extra };
      await this.events.record(trx, 'local', { id: event.id, type: event.type, objectId: event.objectId, createdAt: event.createdAt, payload: eventPayload(event) });
    }
  }
}

interface PendingEvent {
  type: string;
  objectId: string;
  extra: Partial<Port.GatewayEvent>;
}

function missing(id: string): Refusal {
  return new Refusal(404, { message: `No such object: '${id}'`, code: 'resource_missing' });
}

function cardDetails(object: LocalObject): Port.CardDetails {
  const card = object.data as unknown as Card;
  return { paymentMethodId: object.id, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear };
}

function intentResult(id: string, intent: Intent, card: Card | undefined, cardId: string | null): Port.SetupIntentResult {
  if (intent.status === 'succeeded' && card && cardId) {
    return { status: 'succeeded', setupIntentId: id, card: { paymentMethodId: cardId, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear } };
  }
  if (intent.status === 'requires_action') return { status: 'requires_action', setupIntentId: id, clientSecret: intent.clientSecret };
  return { status: 'failed', setupIntentId: id, reason: intent.lastError?.reason ?? 'The card setup was canceled.', declineCode: intent.lastError?.declineCode ?? null };
}

function setupIntentEvent(id: string, intent: Intent) {
  return { id, customerId: intent.customerId, status: intent.status, metadata: intent.metadata };
}

function subscriptionState(id: string, sub: Sub): Port.SubscriptionState {
  return {
    id,
    customerId: sub.customerId,
    status: sub.status,
    priceId: sub.priceId,
    trialEnd: sub.trialEnd ? new Date(sub.trialEnd) : null,
    currentPeriodEnd: new Date(sub.currentPeriodEnd),
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    canceledAt: sub.canceledAt ? new Date(sub.canceledAt) : null,
    createdAt: new Date(sub.createdAt),
    metadata: sub.metadata,
  };
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Stored answers are JSON: dates come back as Dates. */
function revive(value: unknown): unknown {
  if (value instanceof Date) return value;
  if (typeof value === 'string' && ISO.test(value)) return new Date(value);
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  return value;
}
