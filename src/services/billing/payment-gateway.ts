/**
 * The PaymentGateway port: what the billing services need from a payment gateway, and nothing of
 * any one gateway's types. The Stripe adapter and the local gateway implement it
 * (src/services/billing/adapters/).
 *
 * Every call that creates or changes something takes an idempotency key from us: a retry with the
 * same key and parameters replays the first answer instead of acting twice
 * (https://docs.stripe.com/api/idempotent_requests). The saga derives its keys from the saga id and
 * the step, so they survive a crash.
 */

/** Which gateway an object lives in. */
export type GatewayName = 'stripe' | 'local';

/** Per-call options of a write. */
export interface WriteOptions {
  idempotencyKey: string;
}

/** A card as we may keep it: never the number, never the security code. */
export interface CardDetails {
  paymentMethodId: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** Where a SetupIntent stands (https://docs.stripe.com/payments/setupintents/lifecycle). */
export type SetupIntentResult =
  | { status: 'succeeded'; setupIntentId: string; card: CardDetails }
  | { status: 'requires_action'; setupIntentId: string; clientSecret: string }
  /** The card was refused after a challenge, or the SetupIntent was canceled. */
  | { status: 'failed'; setupIntentId: string; reason: string; declineCode: string | null };

/** A subscription's state as the gateway reports it. */
export interface SubscriptionState {
  id: string;
  customerId: string;
  status: 'trialing' | 'active' | 'past_due' | 'canceled' | 'incomplete' | 'incomplete_expired' | 'unpaid' | 'paused';
  priceId: string | null;
  trialEnd: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  /** When the gateway created it: the oldest time an event about it can carry. */
  createdAt: Date;
  metadata: Record<string, string>;
}

/** A gateway event, as both the Stripe webhook and the local gateway deliver it. */
export interface GatewayEvent {
  id: string;
  type: string;
  /** The event's creation time at the gateway: the order the gateway saw things happen in. */
  createdAt: Date;
  /** The id of the object the event is about (subscription, invoice's subscription, SetupIntent). */
  objectId: string | null;
  subscription?: SubscriptionState;
  setupIntent?: { id: string; customerId: string | null; status: string; metadata: Record<string, string> };
}

/** The port. */
export interface PaymentGateway {
  readonly name: GatewayName;
  createCustomer(input: { email: string; name: string; metadata: Record<string, string> }, options: WriteOptions): Promise<{ id: string }>;
  /** Undefined when it does not exist or was deleted. */
  retrieveCustomer(customerId: string): Promise<{ id: string; metadata: Record<string, string> } | undefined>;
  /** "Already gone" counts as done. */
  deleteCustomer(customerId: string, options: WriteOptions): Promise<void>;
  /** The card behind a payment-method id; undefined when there is none, or it is not a card. */
  retrievePaymentMethod(paymentMethodId: string): Promise<CardDetails | undefined>;
  /**
   * Attaches a payment method to a customer through a confirmed SetupIntent
   * (https://docs.stripe.com/payments/save-and-reuse). A declined card throws CardDeclinedError.
   */
  confirmSetupIntent(input: { customerId: string; paymentMethodId: string; metadata: Record<string, string> }, options: WriteOptions): Promise<SetupIntentResult>;
  retrieveSetupIntent(setupIntentId: string): Promise<SetupIntentResult>;
  /** Cancels a SetupIntent that still waits for the customer; one already finished counts as done. */
  cancelSetupIntent(setupIntentId: string, options: WriteOptions): Promise<void>;
  /** "Already detached" counts as done. */
  detachPaymentMethod(paymentMethodId: string, options: WriteOptions): Promise<void>;
  /** The card invoices are charged to (customer.invoice_settings.default_payment_method). */
  setDefaultPaymentMethod(customerId: string, paymentMethodId: string, options: WriteOptions): Promise<void>;
  /** `trialEnd` null starts the paid period now. */
  createSubscription(
    input: { customerId: string; priceId: string; trialEnd: Date | null; paymentMethodId: string; metadata: Record<string, string> },
    options: WriteOptions,
  ): Promise<SubscriptionState>;
  retrieveSubscription(subscriptionId: string): Promise<SubscriptionState | undefined>;
  /** Sets the card of one subscription. */
  setSubscriptionPaymentMethod(subscriptionId: string, paymentMethodId: string, options: WriteOptions): Promise<SubscriptionState>;
  /** At once, or at the end of the current period; "already canceled or gone" counts as done. */
  cancelSubscription(subscriptionId: string, mode: 'now' | 'at_period_end', options: WriteOptions): Promise<SubscriptionState | undefined>;
}

/** The card was refused (declined, insufficient funds, challenge failed): the person may try another card. */
export class CardDeclinedError extends Error {
  constructor(
    readonly reason: string,
    readonly declineCode: string | null,
  ) {
    super(reason);
    this.name = 'CardDeclinedError';
  }
}

/** The gateway could not be reached or answered 5xx or 429: retry with the same idempotency key. */
export class GatewayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUnavailableError';
  }
}

/** The gateway refused the request for a reason retrying cannot fix (bad id, wrong parameters). */
export class GatewayRejectedError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'GatewayRejectedError';
  }
}
