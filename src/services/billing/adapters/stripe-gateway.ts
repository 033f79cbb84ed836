import Stripe from 'stripe';
import { CardDeclinedError, GatewayRejectedError, GatewayUnavailableError } from '../payment-gateway.js';
import type * as Port from '../payment-gateway.js';

/** The parts of a Stripe object we read; loose on purpose, since API versions move fields around. */
type Loose = Record<string, unknown> & { id: string };

const seconds = (value: unknown): Date | null => (typeof value === 'number' ? new Date(value * 1000) : null);
const idOf = (value: unknown): string | null =>
  typeof value === 'string' ? value : value && typeof value === 'object' && typeof (value as Loose).id === 'string' ? (value as Loose).id : null;

/**
 * The Stripe client: STRIPE_API_BASE (optional) points it at another host, for tests. The SDK's own
 * retries are off (maxNetworkRetries 0): it would invent idempotency keys that do not survive a crash;
 * the saga retries with its own keys instead (https://docs.stripe.com/api/idempotent_requests).
 */
export function createStripeClient(secretKey: string, options: { apiBase?: string; timeoutMs: number }): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(secretKey, {
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    ...(base
      ? { host: base.hostname, port: base.port || (base.protocol === 'https:' ? '443' : '80'), protocol: base.protocol.replace(':', '') as 'http' | 'https' }
      : {}),
  });
}

/** The PaymentGateway port on the official Stripe SDK. */
export class StripeGateway implements Port.PaymentGateway {
  readonly name = 'stripe' as const;

  constructor(private readonly stripe: Stripe) {}

  async createCustomer(input: { email: string; name: string; metadata: Record<string, string> }, options: Port.WriteOptions) {
    const customer = await call(() => this.stripe.customers.create(input, { idempotencyKey: options.idempotencyKey }));
    return { id: customer.id };
  }

  async retrieveCustomer(customerId: string) {
    const customer = await orMissing(() => call(() => this.stripe.customers.retrieve(customerId)));
    if (!customer || (customer as { deleted?: boolean }).deleted) return undefined;
    return { id: customer.id, metadata: ((customer as unknown as Loose).metadata ?? {}) as Record<string, string> };
  }

  async deleteCustomer(customerId: string, options: Port.WriteOptions) {
    await orMissing(() => call(() => this.stripe.customers.del(customerId, {}, { idempotencyKey: options.idempotencyKey })));
  }

  async retrievePaymentMethod(paymentMethodId: string): Promise<Port.CardDetails | undefined> {
    const method = await orMissing(() => call(() => this.stripe.paymentMethods.retrieve(paymentMethodId)));
    return method ? cardOf(method as unknown as Loose) : undefined;
  }

  async confirmSetupIntent(input: { customerId: string; paymentMethodId: string; metadata: Record<string, string> }, options: Port.WriteOptions) {
    const intent = await call(() =>
      this.stripe.setupIntents.create(
        {
          customer: input.customerId,
          payment_method: input.paymentMethodId,
          confirm: true,
          usage: 'off_session',
          metadata: input.metadata,
          expand: ['payment_method'],
        },
        { idempotencyKey: options.idempotencyKey },
      ),
    );
    return setupIntentResult(intent as unknown as Loose);
  }

  async retrieveSetupIntent(setupIntentId: string) {
    const intent = await call(() => this.stripe.setupIntents.retrieve(setupIntentId, { expand: ['payment_method'] }));
    return setupIntentResult(intent as unknown as Loose);
  }

  async cancelSetupIntent(setupIntentId: string, options: Port.WriteOptions) {
    try {
      await call(() => this.stripe.setupIntents.cancel(setupIntentId, {}, { idempotencyKey: options.idempotencyKey }));
    } catch (error) {
      // Already succeeded or canceled: nothing waits for the customer any more.
      if (error instanceof GatewayRejectedError && ['setup_intent_unexpected_state', 'resource_missing'].includes(error.code ?? '')) return;
      throw error;
    }
  }

  async detachPaymentMethod(paymentMethodId: string, options: Port.WriteOptions) {
    try {
      await call(() => this.stripe.paymentMethods.detach(paymentMethodId, {}, { idempotencyKey: options.idempotencyKey }));
    } catch (error) {
      // Not attached (any more) or gone: the goal is reached.
      if (error instanceof GatewayRejectedError && ['resource_missing', 'payment_method_unexpected_state'].includes(error.code ?? '')) return;
      throw error;
    }
  }

  async setDefaultPaymentMethod(customerId: string, paymentMethodId: string, options: Port.WriteOptions) {
    await call(() =>
      this.stripe.customers.update(customerId, { invoice_settings: { default_payment_method: paymentMethodId } }, { idempotencyKey: options.idempotencyKey }),
    );
  }

  async createSubscription(
    input: { customerId: string; priceId: string; trialEnd: Date | null; paymentMethodId: string; metadata: Record<string, string> },
    options: Port.WriteOptions,
  ) {
    const subscription = await call(() =>
      this.stripe.subscriptions.create(
        {
          customer: input.customerId,
          items: [{ price: input.priceId }],
          default_payment_method: input.paymentMethodId,
          metadata: input.metadata,
          ...(input.trialEnd ? { trial_end: Math.floor(input.trialEnd.getTime() / 1000) } : {}),
        },
        { idempotencyKey: options.idempotencyKey },
      ),
    );
    return subscriptionState(subscription as unknown as Loose);
  }

  async retrieveSubscription(subscriptionId: string) {
    const subscription = await orMissing(() => call(() => this.stripe.subscriptions.retrieve(subscriptionId)));
    return subscription ? subscriptionState(subscription as unknown as Loose) : undefined;
  }

  async setSubscriptionPaymentMethod(subscriptionId: string, paymentMethodId: string, options: Port.WriteOptions) {
    const subscription = await call(() =>
      this.stripe.subscriptions.update(subscriptionId, { default_payment_method: paymentMethodId }, { idempotencyKey: options.idempotencyKey }),
    );
    return subscriptionState(subscription as unknown as Loose);
  }

  async cancelSubscription(subscriptionId: string, mode: 'now' | 'at_period_end', options: Port.WriteOptions) {
    const request = { idempotencyKey: options.idempotencyKey };
    try {
      const subscription = await call(() =>
        mode === 'now'
          ? this.stripe.subscriptions.cancel(subscriptionId, {}, request)
          : this.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true }, request),
      );
      return subscriptionState(subscription as unknown as Loose);
    } catch (error) {
      // Gone, or canceled already: done.
      if (error instanceof GatewayRejectedError && mode === 'now' && (error.code === 'resource_missing' || /cancell?ed/i.test(error.message))) return undefined;
      throw error;
    }
  }
}

/**
 * A verified Stripe webhook as a GatewayEvent. `constructEvent` checks the Stripe-Signature header
 * against the endpoint secret and the timestamp tolerance (https://docs.stripe.com/webhooks#verify-official-libraries).
 */
export function parseStripeWebhook(stripe: Stripe, rawBody: Buffer, signature: string, secret: string): Port.GatewayEvent {
  const event = stripe.webhooks.constructEvent(rawBody, signature, secret) as unknown as { id: string; type: string; created: number; data: { object: Loose } };
  return toGatewayEvent(event);
}

/** A Stripe event object (from a webhook or the stand-in) as a GatewayEvent. */
export function toGatewayEvent(event: { id: string; type: string; created: number; data: { object: Loose } }): Port.GatewayEvent {
  const object = event.data.object;
  const base = { id: event.id, type: event.type, createdAt: new Date(event.created * 1000) };
  if (object.object === 'subscription') return { ...base, objectId: object.id, subscription: subscriptionState(object) };
  if (object.object === 'invoice') {
    const parent = object.parent as { subscription_details?: { subscription?: unknown } } | null | undefined;
    return { ...base, objectId: idOf(parent?.subscription_details?.subscription) ?? idOf(object.subscription) };
  }
  if (object.object === 'setup_intent') {
    return {
      ...base,
      objectId: object.id,
      setupIntent: { id: object.id, customerId: idOf(object.customer), status: String(object.status), metadata: (object.metadata ?? {}) as Record<string, string> },
    };
  }
  return { ...base, objectId: object.id ?? null };
}

function cardOf(method: Loose): Port.CardDetails | undefined {
  const card = method.card as { brand?: string; last4?: string; exp_month?: number; exp_year?: number } | undefined;
  if (method.type !== 'card' || !card?.last4) return undefined;
  return { paymentMethodId: method.id, brand: card.brand ?? 'unknown', last4: card.last4, expMonth: card.exp_month ?? 1, expYear: card.exp_year ?? 1970 };
}

function setupIntentResult(intent: Loose): Port.SetupIntentResult {
  if (intent.status === 'succeeded') {
    const method = intent.payment_method as Loose;
    const card = typeof method === 'object' && method ? cardOf(method) : undefined;
    if (!card) throw new GatewayRejectedError('The SetupIntent succeeded without a card payment method.', 'payment_method_not_card');
    return { status: 'succeeded', setupIntentId: intent.id, card };
  }
  if (intent.status === 'requires_action') return { status: 'requires_action', setupIntentId: intent.id, clientSecret: String(intent.client_secret) };
  const lastError = intent.last_setup_error as { message?: string; decline_code?: string; code?: string } | null | undefined;
  if (intent.status === 'requires_payment_method' || intent.status === 'canceled') {
    return {
      status: 'failed',
      setupIntentId: intent.id,
      reason: lastError?.message ?? (intent.status === 'canceled' ? 'The card setup was canceled.' : 'The card could not be authenticated.'),
      declineCode: lastError?.decline_code ?? lastError?.code ?? null,
    };
  }
  // processing, requires_confirmation: not a state a card setup confirmed by us stays in.
  throw new GatewayUnavailableError(`The SetupIntent is ${String(intent.status)}; try again shortly.`);
}

function subscriptionState(subscription: Loose): Port.SubscriptionState {
  const items = (subscription.items as { data?: { current_period_end?: number; price?: { id?: string } }[] } | undefined)?.data ?? [];
  return {
    id: subscription.id,
    customerId: idOf(subscription.customer) ?? '',
    status: subscription.status as Port.SubscriptionState['status'],
    priceId: items[0]?.price?.id ?? null,
    trialEnd: seconds(subscription.trial_end),
    currentPeriodEnd: seconds(items[0]?.current_period_end ?? subscription.current_period_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
    canceledAt: seconds(subscription.canceled_at),
    createdAt: seconds(subscription.created) ?? new Date(0),
    metadata: (subscription.metadata ?? {}) as Record<string, string>,
  };
}

/** Runs one SDK call and maps Stripe's errors onto the port's. */
async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapError(error);
  }
}

/** Undefined when the object does not exist (resource_missing). */
async function orMissing<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof GatewayRejectedError && error.code === 'resource_missing') return undefined;
    throw error;
  }
}

function mapError(error: unknown): Error {
  if (!(error instanceof Stripe.errors.StripeError)) return error instanceof Error ? error : new Error(String(error));
  if (error instanceof Stripe.errors.StripeCardError) {
    return new CardDeclinedError(error.message, error.decline_code ?? error.code ?? null);
  }
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    (error.statusCode ?? 0) >= 500 ||
    error.statusCode === 429
  ) {
    return new GatewayUnavailableError(`Stripe is unavailable: ${error.message}`);
  }
  return new GatewayRejectedError(error.message, error.code ?? null);
}
