import type { Tx } from '../../db/database.js';
import type { AuditRepository } from '../../repositories/audit-repository.js';
import type { BillingRepository } from '../../repositories/billing/billing-repository.js';
import type { GatewayEventRepository } from '../../repositories/billing/gateway-event-repository.js';
import { writePaidPlanRows } from './paid-plan-rows.js';
import { customerStep, defaultPaymentMethodStep, setupIntentStep, subscriptionStep, type PaidPlanInput } from './paid-plan-steps.js';
import type { PaymentGateway } from './payment-gateway.js';
import type { SagaDefinition } from './saga.js';
import type { EventRecorder } from '../events/event-recorder.js';

/**
 * The staged sign-up's one-transaction completion, as the paid sign-up saga's pivot needs it. The
 * sign-up implements it (a small adapter over its completion function): inside `trx` it locks the
 * flow and creates the account, profile, workspace and membership, or throws an AppError
 * (`email_taken`, `signup_incomplete`) to refuse, and the saga then undoes the gateway side.
 */
export interface SignupCompletionPort<R> {
  /** `context`: what the sign-up passed to completeSignup for its completion (e.g. the completing cookie's hash). */
  complete(trx: Tx, flowId: string, context: Record<string, string>): Promise<{ workspaceId: string; accountId: string; result: R }>;
}

/** Input of a paid sign-up's saga (its subject is the flow). */
export interface SignupSagaInput extends PaidPlanInput {
  flowId: string;
  planId: string;
  /** Opaque to billing: handed to the completion at the pivot. Never a secret (it is stored). */
  context: Record<string, string>;
}

/** What every caller of a paid sign-up's saga gets. */
export interface SignupSagaResult<R> {
  workspaceId: string;
  accountId: string;
  result: R;
}

/**
 * The paid sign-up: the four gateway steps (the customer's metadata names the flow), then the pivot:
 * the sign-up's completion and our billing rows in ONE transaction. The workspace's trial end is set
 * to the subscription's, so the two never differ.
 */
export function signupSaga<R>(
  deps: { gateway: PaymentGateway; billing: BillingRepository; events: GatewayEventRepository; outbox: EventRecorder; audit: AuditRepository },
  completion: SignupCompletionPort<R>,
): SagaDefinition<PaidPlanInput, SignupSagaResult<R>> {
  const { gateway } = deps;
  return {
    kind: 'signup',
    steps: [customerStep(gateway), setupIntentStep(gateway), defaultPaymentMethodStep(gateway), subscriptionStep(gateway)],
    async pivot(trx, ctx) {
      const input = ctx.input as SignupSagaInput;
      const done = await completion.complete(trx, input.flowId, input.context);
      const rows = await writePaidPlanRows(trx, { billing: deps.billing, events: deps.events, outbox: deps.outbox, gateway: gateway.name }, ctx, { workspaceId: done.workspaceId, planId: input.planId });
      if (rows.trialEnd) await deps.billing.withTx(trx).setWorkspaceTrialEnd(done.workspaceId, rows.trialEnd);
      await deps.audit.withTx(trx).insert({
        actor: { type: 'account', id: done.accountId },
        action: 'billing.subscribed',
        workspaceId: done.workspaceId,
        accountId: done.accountId,
        data: { plan: input.planId, subscriptionId: rows.subscriptionId, customerId: rows.customerId, sagaId: ctx.saga.id, flowId: input.flowId },
      });
      return done;
    },
  };
}
