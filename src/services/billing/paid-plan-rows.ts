import type { Tx } from '../../db/database.js';
import { isUniqueViolation } from '../../db/pg-errors.js';
import { AppError } from '../../errors.js';
import type { BillingRepository } from '../../repositories/billing/billing-repository.js';
import type { GatewayEventRepository } from '../../repositories/billing/gateway-event-repository.js';
import { ourStatus } from './gateway-events.js';
import { cardOf, customerIdOf, STEP, type PaidPlanInput } from './paid-plan-steps.js';
import type { GatewayName, SubscriptionState } from './payment-gateway.js';
import type { SagaContext } from './saga.js';
import type { EventRecorder } from '../events/event-recorder.js';

/** What the pivot wrote: the gateway ids our rows now point at. */
export interface PaidPlanRows {
  customerId: string;
  subscriptionId: string;
  trialEnd: Date | null;
}

/**
 * The billing half of a paid plan's pivot, inside its transaction: the customer (unless it existed),
 * the default card and the subscription rows pointing at the gateway objects the steps made, and the
 * gateway events that arrived about them before this commit, queued to apply now.
 */
export async function writePaidPlanRows(
  trx: Tx,
  deps: { billing: BillingRepository; events: GatewayEventRepository; outbox: EventRecorder; gateway: GatewayName },
  ctx: SagaContext<PaidPlanInput>,
  target: { workspaceId: string; planId: string },
): Promise<PaidPlanRows> {
  const billing = deps.billing.withTx(trx);
  const customerId = customerIdOf(ctx);
  const card = cardOf(ctx);
  const step = ctx.steps.get(STEP.subscription)!;
  const state = step.data.subscription as Record<string, string | boolean | null>;
  const trialEnd = state.trialEnd ? new Date(state.trialEnd as string) : null;
  if (!ctx.input.existingCustomerId) await billing.insertCustomer(target.workspaceId, deps.gateway, customerId);
  await billing.insertDefaultCard({ workspaceId: target.workspaceId, customerId, gatewayId: card.paymentMethodId, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear });
  try {
    await billing.insertSubscription({
      workspaceId: target.workspaceId,
      customerId,
      gatewayId: step.objectId!,
      plan: target.planId,
      status: ourStatus(state.status as SubscriptionState['status']),
      trialEnd,
      currentPeriodEnd: state.currentPeriodEnd ? new Date(state.currentPeriodEnd as string) : null,
      cancelAtPeriodEnd: state.cancelAtPeriodEnd === true,
      canceledAt: null,
      at: new Date(state.createdAt as string),
    });
  } catch (error) {
    if (isUniqueViolation(error, 'subscriptions_workspace_live_key')) throw new AppError('already_subscribed', 'The workspace got a subscription meanwhile.');
    throw error;
  }
  await billing.setWorkspacePlan(target.workspaceId, target.planId);
  await deps.outbox.record(trx, {
    type: 'billing.subscribed',
    workspaceId: target.workspaceId,
    data: { workspaceId: target.workspaceId, plan: target.planId, subscriptionId: step.objectId!, status: ourStatus(state.status as SubscriptionState['status']), trialEnd: trialEnd?.toISOString() ?? null },
  });
  await deps.events.withTx(trx).requeueFor(trx, [step.objectId!, customerId, ctx.steps.get(STEP.setupIntent)!.objectId!]);
  return { customerId, subscriptionId: step.objectId!, trialEnd };
}
