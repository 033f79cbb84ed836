import { Type } from 'typebox';
import type { BillingView } from '../../services/billing/billing-service.js';
import { iso } from '../presenters.js';
import { memberRouteProblems, Nullable, NullableDateTime, problems, WorkspaceParams } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';
import { workspaceReadRoute } from './workspace-read.js';

const security = [{ sessionCookie: [] }];

/** A gateway payment-method id (Stripe's `pm_...`); never card data. */
const PaymentMethodId = Type.String({
  pattern: '^pm_[A-Za-z0-9_]{1,200}$',
  'x-pattern-message': 'must be a payment method id (pm_...) from Stripe.js',
  description: 'The payment-method id Stripe.js (Elements) made from the card in the browser; with the local gateway, a Stripe test id such as pm_card_visa.',
  examples: ['pm_card_visa'],
});

const SubscriptionStatus = Type.Enum(['trialing', 'active', 'past_due', 'canceled'], { type: 'string' });

export const Billing = Type.Object(
  {
    workspaceId: Type.String({ format: 'uuid' }),
    plan: Type.String(),
    trialEndsAt: NullableDateTime,
    gateway: Nullable(Type.String({ description: 'stripe or local' })),
    customerId: Nullable(Type.String()),
    subscription: Nullable(Type.Object({
        id: Type.String(),
        plan: Type.String(),
        status: SubscriptionStatus,
        trialEnd: NullableDateTime,
        currentPeriodEnd: NullableDateTime,
        cancelAtPeriodEnd: Type.Boolean(),
      })),
    paymentMethod: Nullable(Type.Object({ id: Type.String(), brand: Type.String(), last4: Type.String(), expMonth: Type.Integer(), expYear: Type.Integer() })),
  },
  { examples: [{ workspaceId: '0b7f6a52-3c1e-4f43-9a43-5d2f4b8a9e10', plan: 'pro', trialEndsAt: '2026-12-13T16:00:00.000Z', gateway: 'stripe', customerId: 'cus_QX2b9YHk3s1', subscription: { id: 'sub_1QX2c0', plan: 'pro', status: 'trialing', trialEnd: '2026-12-13T16:00:00.000Z', currentPeriodEnd: '2026-12-13T16:00:00.000Z', cancelAtPeriodEnd: false }, paymentMethod: { id: 'pm_1QX2bz', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2029 } }] },
);

/** A billing view as JSON. */
export function billingJson(view: BillingView) {
  return {
    ...view,
    trialEndsAt: iso(view.trialEndsAt),
    subscription: view.subscription
      ? { ...view.subscription, trialEnd: iso(view.subscription.trialEnd), currentPeriodEnd: iso(view.subscription.currentPeriodEnd) }
      : null,
  };
}

const paymentProblems = {
  ...problems(402, 409, 503),
};

/** The billing of an existing workspace, for its owners (other members 403, non-members 404). */
export async function billingRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  workspaceReadRoute(
    app,
    guards,
    '/v1/workspaces/:id/billing',
    {
      tags: ['billing'],
      operationId: 'getWorkspaceBilling',
      summary: "The workspace's plan, subscription status, trial end and default card",
      description: 'Owners only. The card is shown as brand, last 4 digits and expiry: the service never holds a card number.',
    },
    Billing,
    async (workspaceId, accountId) => billingJson(await services.billing.view(workspaceId, accountId)),
  );

  app.post(
    '/v1/workspaces/:id/billing/subscription',
    {
      preHandler: guards.requireAccount,
      schema: {
        tags: ['billing'],
        operationId: 'subscribeWorkspace',
        summary: 'Upgrade the workspace to a paid plan with a card',
        description:
          'Runs the billing saga: gateway customer, card attached through a confirmed SetupIntent, default card, subscription whose trial ends when the workspace trial ends, then one local transaction. ' +
          'A declined card answers 402 card_declined (nothing is kept: try another card); a card that needs 3-D Secure answers 409 payment_action_required with the SetupIntent client secret ' +
          '(finish the challenge with Stripe.js, then send the same request again); an unreachable gateway answers 503 payment_unavailable with Retry-After after undoing every step. ' +
          'Repeating the request answers the same subscription; simultaneous requests share one saga.',
        security,
        params: WorkspaceParams,
        body: Type.Object({ planId: Type.String({ minLength: 1, maxLength: 50, examples: ['pro'] }), paymentMethodId: PaymentMethodId }, { additionalProperties: false, examples: [{ planId: 'pro', paymentMethodId: 'pm_card_visa' }] }),
        response: { 200: Billing, ...memberRouteProblems, ...paymentProblems },
      },
    },
    async (request) => billingJson(await services.billing.subscribe(request.params.id, request.accountId!, request.body)),
  );

  app.put(
    '/v1/workspaces/:id/billing/payment-method',
    {
      preHandler: guards.requireAccount,
      schema: {
        tags: ['billing'],
        operationId: 'replaceWorkspacePaymentMethod',
        summary: 'Replace the default card',
        description: 'Attaches the new card through a SetupIntent, makes it the default of the customer and the subscription, then detaches the old one. Same 402/409/503 answers as the subscription.',
        security,
        params: WorkspaceParams,
        body: Type.Object({ paymentMethodId: PaymentMethodId }, { additionalProperties: false, examples: [{ paymentMethodId: 'pm_card_mastercard' }] }),
        response: { 200: Billing, ...memberRouteProblems, ...paymentProblems },
      },
    },
    async (request) => billingJson(await services.billing.replaceCard(request.params.id, request.accountId!, request.body.paymentMethodId)),
  );

  app.delete(
    '/v1/workspaces/:id/billing/subscription',
    {
      preHandler: guards.requireAccount,
      schema: {
        tags: ['billing'],
        operationId: 'cancelWorkspaceSubscription',
        summary: "Cancel the subscription at the end of the current period",
        description: 'The workspace keeps its plan until the period ends; the gateway then ends the subscription and its event updates the status. Idempotent.',
        security,
        params: WorkspaceParams,
        response: { 200: Billing, ...memberRouteProblems, ...problems(409, 503) },
      },
    },
    async (request) => billingJson(await services.billing.cancel(request.params.id, request.accountId!)),
  );

  app.post(
    '/v1/local-gateway/setup-intents/:setupIntentId/challenge',
    {
      schema: {
        tags: ['billing'],
        operationId: 'finishLocalChallenge',
        summary: 'Local gateway only: finish the 3-D Secure challenge of a SetupIntent',
        description: 'Stands in for what Stripe.js does in the browser with the client secret, so the 3-D Secure path runs without Stripe. 404 when the Stripe gateway is configured.',
        params: Type.Object({ setupIntentId: Type.String({ pattern: '^seti_[A-Za-z0-9_]{1,200}$', 'x-pattern-message': 'must be a SetupIntent id (seti_...)' }) }),
        body: Type.Object({ succeeded: Type.Boolean() }, { additionalProperties: false, examples: [{ succeeded: true }] }),
        response: { 200: Type.Object({ setupIntentId: Type.String(), status: Type.String() }, { examples: [{ setupIntentId: 'seti_local_1a2b', status: 'succeeded' }] }), ...problems(400, 404) },
      },
    },
    async (request) => services.billing.finishLocalChallenge(request.params.setupIntentId, request.body.succeeded),
  );
}
