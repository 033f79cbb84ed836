import { CardDeclinedError, type CardDetails, type PaymentGateway, type SetupIntentResult } from './payment-gateway.js';
import type { SagaContext, SagaStep, StepOutput } from './saga.js';

/**
 * The gateway steps of a paid plan, shared by every saga that starts one (a workspace upgrade, a
 * staged sign-up) and, in part, by a card change. In order: customer, SetupIntent confirmed with the
 * payment method, default payment method, subscription with its trial. The happy path makes exactly
 * one gateway call per step.
 */

/** What the steps need; `existingCustomerId` skips creating a customer (and never deletes it). */
export interface PaidPlanInput {
  email: string;
  name: string;
  priceId: string;
  paymentMethodId: string;
  /** ISO time; null starts the paid period now. */
  trialEnd: string | null;
  /** Names the flow or workspace at the gateway, so an object found there can be traced back. */
  metadata: Record<string, string>;
  existingCustomerId: string | null;
}

export const STEP = {
  customer: 'customer',
  setupIntent: 'setup_intent',
  defaultPaymentMethod: 'default_payment_method',
  subscription: 'subscription',
} as const;

/** The gateway customer of the saga: the one created by its first step, or the existing one. */
export function customerIdOf(ctx: SagaContext<PaidPlanInput>): string {
  const id = ctx.steps.get(STEP.customer)?.objectId ?? ctx.input.existingCustomerId;
  if (!id) throw new Error(`Saga ${ctx.saga.id} has no customer yet.`);
  return id;
}

/** The card the SetupIntent attached. */
export function cardOf(ctx: SagaContext<PaidPlanInput>): CardDetails {
  const card = ctx.steps.get(STEP.setupIntent)?.data.card as CardDetails | undefined;
  if (!card) throw new Error(`Saga ${ctx.saga.id} has no card yet.`);
  return card;
}

const metadataOf = (ctx: SagaContext<PaidPlanInput>) => ({ ...ctx.input.metadata, saga_id: ctx.saga.id });

/** Step 1: the gateway customer; its metadata names the flow or workspace and the saga. */
export function customerStep(gateway: PaymentGateway): SagaStep<PaidPlanInput> {
  return {
    name: STEP.customer,
    async run(ctx, key) {
      if (ctx.input.existingCustomerId) return { objectId: ctx.input.existingCustomerId, data: { reused: true } };
      const customer = await gateway.createCustomer({ email: ctx.input.email, name: ctx.input.name, metadata: metadataOf(ctx) }, { idempotencyKey: key });
      return { objectId: customer.id };
    },
    async compensate(ctx, step) {
      if (step.data.reused || !step.objectId) return;
      await gateway.deleteCustomer(step.objectId, { idempotencyKey: ctx.key(STEP.customer, 'undo') });
    },
  };
}

function setupOutput(result: SetupIntentResult): StepOutput {
  if (result.status === 'succeeded') return { objectId: result.setupIntentId, data: { card: result.card } };
  if (result.status === 'requires_action') return { objectId: result.setupIntentId, requiresAction: { clientSecret: result.clientSecret } };
  throw new CardDeclinedError(result.reason, result.declineCode);
}

/**
 * Step 2: a SetupIntent confirmed with the payment method, which attaches the card to the customer
 * (https://docs.stripe.com/payments/save-and-reuse). A declined card throws CardDeclinedError; a card
 * that needs 3-D Secure pauses the saga until the customer calls again.
 */
export function setupIntentStep(gateway: PaymentGateway): SagaStep<PaidPlanInput> {
  return {
    name: STEP.setupIntent,
    async run(ctx, key) {
      return setupOutput(await gateway.confirmSetupIntent({ customerId: customerIdOf(ctx), paymentMethodId: ctx.input.paymentMethodId, metadata: metadataOf(ctx) }, { idempotencyKey: key }));
    },
    async resume(_ctx, step) {
      return setupOutput(await gateway.retrieveSetupIntent(step.objectId!));
    },
    async compensate(ctx, step) {
      if (step.status === 'requires_action' && step.objectId) await gateway.cancelSetupIntent(step.objectId, { idempotencyKey: ctx.key(STEP.setupIntent, 'cancel') });
      const card = step.data.card as CardDetails | undefined;
      if (card) await gateway.detachPaymentMethod(card.paymentMethodId, { idempotencyKey: ctx.key(STEP.setupIntent, 'undo') });
    },
  };
}

/** Step 3: the card invoices are charged to. Undone by detaching the card (or restoring `previous`). */
export function defaultPaymentMethodStep(gateway: PaymentGateway, previous?: (ctx: SagaContext<PaidPlanInput>) => string | null): SagaStep<PaidPlanInput> {
  return {
    name: STEP.defaultPaymentMethod,
    async run(ctx, key) {
      const card = cardOf(ctx);
      await gateway.setDefaultPaymentMethod(customerIdOf(ctx), card.paymentMethodId, { idempotencyKey: key });
      return { objectId: card.paymentMethodId };
    },
    async compensate(ctx) {
      const restore = previous?.(ctx);
      if (restore) await gateway.setDefaultPaymentMethod(customerIdOf(ctx), restore, { idempotencyKey: ctx.key(STEP.defaultPaymentMethod, 'undo') });
    },
  };
}

/**
 * Step 4: the subscription, with the trial ending when the workspace's does. One whose first payment
 * failed (status incomplete) is canceled at once and counts as a declined card.
 */
export function subscriptionStep(gateway: PaymentGateway): SagaStep<PaidPlanInput> {
  return {
    name: STEP.subscription,
    async run(ctx, key) {
      const card = cardOf(ctx);
      const subscription = await gateway.createSubscription(
        {
          customerId: customerIdOf(ctx),
          priceId: ctx.input.priceId,
          trialEnd: ctx.input.trialEnd ? new Date(ctx.input.trialEnd) : null,
          paymentMethodId: card.paymentMethodId,
          metadata: metadataOf(ctx),
        },
        { idempotencyKey: key },
      );
      if (subscription.status === 'incomplete' || subscription.status === 'incomplete_expired') {
        await gateway.cancelSubscription(subscription.id, 'now', { idempotencyKey: ctx.key(STEP.subscription, 'undo') });
        throw new CardDeclinedError('The first payment was refused.', null);
      }
      return { objectId: subscription.id, data: { subscription: JSON.parse(JSON.stringify(subscription)) as Record<string, unknown> } };
    },
    async compensate(ctx, step) {
      if (step.objectId) await gateway.cancelSubscription(step.objectId, 'now', { idempotencyKey: ctx.key(STEP.subscription, 'undo') });
    },
  };
}
