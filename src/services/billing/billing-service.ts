import type { Plan } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import type { SagaKind, SubscriptionStatus } from '../../db/schema.js';
import { AppError, workspaceNotFound } from '../../errors.js';
import type { AccountRepository } from '../../repositories/account-repository.js';
import type { AuditRepository } from '../../repositories/audit-repository.js';
import type { BillingRepository } from '../../repositories/billing/billing-repository.js';
import type { GatewayEventRepository } from '../../repositories/billing/gateway-event-repository.js';
import type { SagaRepository } from '../../repositories/billing/saga-repository.js';
import type { WorkspaceRepository } from '../../repositories/workspace-repository.js';
import type { WorkspaceService } from '../workspace-service.js';
import { ourStatus } from './gateway-events.js';
import { writePaidPlanRows } from './paid-plan-rows.js';
import { cardOf, customerIdOf, customerStep, defaultPaymentMethodStep, setupIntentStep, subscriptionStep, type PaidPlanInput } from './paid-plan-steps.js';
import { LocalGateway } from './adapters/local-gateway.js';
import { GatewayRejectedError, GatewayUnavailableError, type PaymentGateway, type SubscriptionState } from './payment-gateway.js';
import { retryWhileUnavailable, type GatewayRetryPolicy } from './gateway-retries.js';
import { SagaRunner, type SagaContext, type SagaDefinition } from './saga.js';
import { signupSaga, type SignupCompletionPort, type SignupSagaInput, type SignupSagaResult } from './signup-saga.js';
import type { EventRecorder } from '../events/event-recorder.js';

/** A workspace's billing as its owner sees it. */
export interface BillingView {
  workspaceId: string;
  plan: string;
  trialEndsAt: Date | null;
  gateway: string | null;
  customerId: string | null;
  subscription: {
    id: string;
    plan: string;
    status: SubscriptionStatus;
    trialEnd: Date | null;
    currentPeriodEnd: Date | null;
    cancelAtPeriodEnd: boolean;
  } | null;
  paymentMethod: { id: string; brand: string; last4: string; expMonth: number; expYear: number } | null;
}

/** Input of a workspace's subscription saga. */
interface WorkspaceSubscriptionInput extends PaidPlanInput {
  workspaceId: string;
  accountId: string;
  planId: string;
}

/** Input of a card change. */
interface CardChangeInput extends PaidPlanInput {
  workspaceId: string;
  accountId: string;
  previousPaymentMethodId: string | null;
  subscriptionId: string | null;
}

/** Only an owner manages billing; other members get 403, non-members 404. */
const isOwner = (role: string) => role === 'owner';

/**
 * The billing of an existing workspace: read, subscribe (a trial upgraded through the saga), replace
 * the card (a smaller saga), cancel at the period's end. Also hosts recovery of stalled sagas.
 */
export class BillingService {
  constructor(
    private readonly deps: {
      db: Db;
      gateway: PaymentGateway;
      runner: SagaRunner;
      sagas: SagaRepository;
      billing: BillingRepository;
      events: GatewayEventRepository;
      /** The outbox (billing.* events), in the transaction of each change. */
      outbox: EventRecorder;
      workspaces: WorkspaceRepository;
      accounts: AccountRepository;
      audit: AuditRepository;
      access: WorkspaceService;
      plans: readonly Plan[];
      gatewayRetries: GatewayRetryPolicy;
    },
  ) {
    deps.runner.define(this.subscriptionSaga());
    deps.runner.define(this.cardChangeSaga());
  }

  /** Which gateway this instance talks to. */
  get gatewayName(): string {
    return this.deps.gateway.name;
  }

  /** The workspace's plan, subscription and default card. */
  async view(workspaceId: string, accountId: string): Promise<BillingView> {
    await this.deps.access.requireRole(workspaceId, accountId, isOwner);
    return this.read(workspaceId);
  }

  /**
   * Upgrades the workspace to a paid plan through the saga: customer, card (SetupIntent), default
   * card, subscription whose trial ends when the workspace's does, then the local pivot. A repeat of
   * the same request answers the same billing; five at once join one saga.
   */
  async subscribe(workspaceId: string, accountId: string, input: { planId: string; paymentMethodId: string }): Promise<BillingView> {
    await this.deps.access.requireRole(workspaceId, accountId, isOwner);
    const plan = this.deps.plans.find((candidate) => candidate.id === input.planId);
    if (!plan) throw new AppError('validation_failed', `There is no plan "${input.planId}".`, { fields: [{ field: 'planId', message: 'is not a plan on offer' }] });
    if (!plan.priceId) throw new AppError('validation_failed', `The ${plan.name} plan is free: it needs no subscription.`, { fields: [{ field: 'planId', message: 'is a free plan' }] });
    const current = await this.deps.billing.findByWorkspace(workspaceId);
    if (current.subscription && current.subscription.status !== 'canceled') {
      if (current.subscription.plan === plan.id) return this.read(workspaceId);
      throw new AppError('already_subscribed', `The workspace is already subscribed to the ${current.subscription.plan} plan.`);
    }
    const workspace = await this.deps.workspaces.findById(workspaceId);
    const owner = await this.deps.accounts.findById(accountId);
    if (!workspace || !owner) throw workspaceNotFound();
    const trialEnd = workspace.trialEndsAt && workspace.trialEndsAt.getTime() > Date.now() ? workspace.trialEndsAt.toISOString() : null;
    const sagaInput: WorkspaceSubscriptionInput = {
      workspaceId,
      accountId,
      planId: plan.id,
      priceId: plan.priceId,
      paymentMethodId: input.paymentMethodId,
      email: owner.email,
      name: workspace.name,
      trialEnd,
      metadata: { workspace_id: workspaceId },
      existingCustomerId: current.customerId,
    };
    await this.runSaga('workspace_subscription', workspaceId, workspaceId, sagaInput);
    return this.read(workspaceId);
  }

  /** Replaces the default card: SetupIntent, default card, the subscription's card, then the old card detached. */
  async replaceCard(workspaceId: string, accountId: string, paymentMethodId: string): Promise<BillingView> {
    await this.deps.access.requireRole(workspaceId, accountId, isOwner);
    const current = await this.deps.billing.findByWorkspace(workspaceId);
    if (!current.customerId) throw new AppError('no_subscription', 'The workspace has no billing yet: subscribe to a paid plan first.');
    if (current.card?.gatewayId === paymentMethodId) return this.read(workspaceId);
    const owner = await this.deps.accounts.findById(accountId);
    const live = current.subscription && current.subscription.status !== 'canceled' ? current.subscription : null;
    const sagaInput: CardChangeInput = {
      workspaceId,
      accountId,
      priceId: '',
      paymentMethodId,
      email: owner?.email ?? '',
      name: '',
      trialEnd: null,
      metadata: { workspace_id: workspaceId },
      existingCustomerId: current.customerId,
      previousPaymentMethodId: current.card?.gatewayId ?? null,
      subscriptionId: live?.gatewayId ?? null,
    };
    await this.runSaga('payment_method_change', workspaceId, workspaceId, sagaInput);
    return this.read(workspaceId);
  }

  /** Cancels at the end of the current period (the workspace keeps its plan until then). */
  async cancel(workspaceId: string, accountId: string): Promise<BillingView> {
    await this.deps.access.requireRole(workspaceId, accountId, isOwner);
    const current = await this.deps.billing.findByWorkspace(workspaceId);
    const live = current.subscription && current.subscription.status !== 'canceled' ? current.subscription : null;
    if (!live) throw new AppError('no_subscription', 'The workspace has no subscription to cancel.');
    if (live.cancelAtPeriodEnd) return this.read(workspaceId);
    const state = await this.withRetries(() =>
      this.deps.gateway.cancelSubscription(live.gatewayId, 'at_period_end', { idempotencyKey: `subscription_${live.gatewayId}_cancel_at_period_end` }),
    );
    await this.deps.db.transaction().execute(async (trx) => {
      if (state) await this.deps.billing.withTx(trx).applySubscriptionChange(live.gatewayId, changeOf(state, new Date(Math.max(Date.now(), live.gatewayUpdatedAt.getTime()))));
      await this.deps.audit.withTx(trx).insert({ actor: { type: 'account', id: accountId }, action: 'billing.subscription_canceled', workspaceId, accountId, data: { subscriptionId: live.gatewayId, atPeriodEnd: true } });
      await this.deps.outbox.record(trx, { type: 'billing.subscription_canceled', workspaceId, data: { workspaceId, subscriptionId: live.gatewayId, atPeriodEnd: true } });
    });
    return this.read(workspaceId);
  }

  /** A payment method's card details, through the gateway: 400 invalid_payment_method unless it exists and is a card. */
  async describeCard(paymentMethodId: string): Promise<{ id: string; brand: string; last4: string; expMonth: number; expYear: number }> {
    const card = await this.withRetries(() => this.deps.gateway.retrievePaymentMethod(paymentMethodId));
    if (!card) {
      throw new AppError('invalid_payment_method', 'No card with this payment-method id exists: collect the card again with Stripe.js.', {
        fields: [{ field: 'paymentMethodId', message: 'is not a card payment method' }],
      });
    }
    return { id: card.paymentMethodId, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear };
  }

  /** Registers the staged sign-up's completion as the pivot of paid sign-ups (once, at wiring). */
  defineSignup<R>(completion: SignupCompletionPort<R>): void {
    this.deps.runner.define(signupSaga({ gateway: this.deps.gateway, billing: this.deps.billing, events: this.deps.events, outbox: this.deps.outbox, audit: this.deps.audit }, completion));
  }

  /**
   * The paid part of a sign-up's completion: the saga keyed by the flow, so simultaneous completes
   * share it and a repeat after success answers the same account and workspace. 402 `card_declined`
   * leaves the flow at its payment step; 409 `payment_action_required` asks for 3-D Secure.
   */
  async completeSignup<R>(input: { flowId: string; planId: string; paymentMethodId: string; email: string; name: string; context?: Record<string, string> }): Promise<SignupSagaResult<R>> {
    const plan = this.deps.plans.find((candidate) => candidate.id === input.planId);
    if (!plan?.priceId) throw new AppError('validation_failed', `The plan "${input.planId}" takes no payment.`, { fields: [{ field: 'plan.id', message: 'is not a paid plan' }] });
    const sagaInput: SignupSagaInput = {
      flowId: input.flowId,
      planId: plan.id,
      priceId: plan.priceId,
      paymentMethodId: input.paymentMethodId,
      email: input.email,
      name: input.name,
      trialEnd: plan.trialDays > 0 ? new Date(Date.now() + plan.trialDays * 86_400_000).toISOString() : null,
      metadata: { signup_flow_id: input.flowId },
      existingCustomerId: null,
      context: input.context ?? {},
    };
    const completed = (await this.deps.sagas.listForSubject('signup', input.flowId)).find((saga) => saga.state === 'completed');
    if (completed) return (completed.outcome as { result: SignupSagaResult<R> }).result;
    return this.runSaga('signup', input.flowId, null, sagaInput);
  }

  /** Local gateway only: what Stripe.js does after the 3-D Secure challenge. */
  async finishLocalChallenge(setupIntentId: string, succeeded: boolean): Promise<{ setupIntentId: string; status: string }> {
    const { gateway } = this.deps;
    if (!(gateway instanceof LocalGateway)) throw new AppError('not_found', 'There is nothing at this address: the Stripe gateway is configured.');
    const result = await gateway.finishChallenge(setupIntentId, succeeded).catch((error: unknown) => {
      if (error instanceof GatewayRejectedError) throw new AppError('not_found', 'No SetupIntent with this id exists.');
      throw error;
    });
    return { setupIntentId, status: result.status };
  }

  /**
   * Drives a saga on after its 3-D Secure challenge succeeded (the setup_intent.succeeded event); a
   * refusal is the saga's stored outcome, which callers get when they ask again.
   */
  async resume(sagaId: string): Promise<void> {
    try {
      await this.deps.runner.run(sagaId);
    } catch (error) {
      if (!(error instanceof AppError) || error.code === 'payment_unavailable') throw error;
    }
  }

  /** The recovery job's work: see SagaRunner.recover. */
  recover(): Promise<number> {
    return this.deps.runner.recover();
  }

  /**
   * Starts the saga for the subject, or joins the one already running. A saga waiting for 3-D Secure
   * with another card is undone first: the person chose another card.
   */
  private async runSaga<R>(kind: SagaKind, subjectId: string, workspaceId: string | null, input: PaidPlanInput): Promise<R> {
    let saga = await this.deps.sagas.startOrJoin({ kind, subjectId, workspaceId, input: { ...input } });
    if (saga.state === 'requires_action' && saga.input.paymentMethodId !== input.paymentMethodId) {
      await this.deps.runner.abandon(saga.id);
      saga = await this.deps.sagas.startOrJoin({ kind, subjectId, workspaceId, input: { ...input } });
    }
    return this.deps.runner.run<R>(saga.id);
  }

  private async read(workspaceId: string): Promise<BillingView> {
    const workspace = await this.deps.workspaces.findById(workspaceId);
    if (!workspace) throw workspaceNotFound();
    const billing = await this.deps.billing.findByWorkspace(workspaceId);
    const sub = billing.subscription;
    return {
      workspaceId,
      plan: workspace.plan,
      trialEndsAt: workspace.trialEndsAt,
      gateway: billing.gateway,
      customerId: billing.customerId,
      subscription: sub
        ? { id: sub.gatewayId, plan: sub.plan, status: sub.status, trialEnd: sub.trialEnd, currentPeriodEnd: sub.currentPeriodEnd, cancelAtPeriodEnd: sub.cancelAtPeriodEnd }
        : null,
      paymentMethod: billing.card ? { id: billing.card.gatewayId, brand: billing.card.brand, last4: billing.card.last4, expMonth: billing.card.expMonth, expYear: billing.card.expYear } : null,
    };
  }

  /** A gateway call outside a saga (cancel, card lookup), retried as sagas retry; 503 payment_unavailable when it stays down. */
  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await retryWhileUnavailable(this.deps.gatewayRetries, call);
    } catch (error) {
      if (!(error instanceof GatewayUnavailableError)) throw error;
      throw new AppError('payment_unavailable', 'The payment gateway is unavailable right now. Please try again in a minute.', { retryAfterSeconds: 30 });
    }
  }

  /** The upgrade of a workspace: the four gateway steps, then the pivot that writes our billing rows. */
  private subscriptionSaga(): SagaDefinition<PaidPlanInput, { workspaceId: string }> {
    const { gateway } = this.deps;
    return {
      kind: 'workspace_subscription',
      steps: [customerStep(gateway), setupIntentStep(gateway), defaultPaymentMethodStep(gateway), subscriptionStep(gateway)],
      pivot: async (trx, ctx) => {
        const input = ctx.input as WorkspaceSubscriptionInput;
        await this.lockActiveWorkspace(trx, input.workspaceId);
        const rows = await writePaidPlanRows(trx, { billing: this.deps.billing, events: this.deps.events, outbox: this.deps.outbox, gateway: gateway.name }, ctx, input);
        await this.deps.audit.withTx(trx).insert({
          actor: { type: 'account', id: input.accountId },
          action: 'billing.subscribed',
          workspaceId: input.workspaceId,
          accountId: input.accountId,
          data: { plan: input.planId, subscriptionId: rows.subscriptionId, customerId: rows.customerId, sagaId: ctx.saga.id },
        });
        return { workspaceId: input.workspaceId };
      },
    };
  }

  /** A card change: SetupIntent, default card, the subscription's card; pivot; then the old card detached. */
  private cardChangeSaga(): SagaDefinition<PaidPlanInput, { workspaceId: string }> {
    const { gateway } = this.deps;
    const input = (ctx: SagaContext<PaidPlanInput>) => ctx.input as CardChangeInput;
    return {
      kind: 'payment_method_change',
      steps: [
        setupIntentStep(gateway),
        defaultPaymentMethodStep(gateway, (ctx) => input(ctx).previousPaymentMethodId),
        {
          name: 'subscription_payment_method',
          async run(ctx, key) {
            const subscriptionId = input(ctx).subscriptionId;
            if (subscriptionId) await gateway.setSubscriptionPaymentMethod(subscriptionId, cardOf(ctx).paymentMethodId, { idempotencyKey: key });
            return { objectId: subscriptionId };
          },
          async compensate(ctx, step) {
            const previous = input(ctx).previousPaymentMethodId;
            if (step.objectId && previous) await gateway.setSubscriptionPaymentMethod(step.objectId, previous, { idempotencyKey: ctx.key(step.step, 'undo') });
          },
        },
      ],
      pivot: async (trx, ctx) => {
        const { workspaceId, previousPaymentMethodId, accountId } = input(ctx);
        await this.lockActiveWorkspace(trx, workspaceId);
        const card = cardOf(ctx);
        const billing = this.deps.billing.withTx(trx);
        await billing.insertDefaultCard({ workspaceId, customerId: customerIdOf(ctx), gatewayId: card.paymentMethodId, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear });
        if (previousPaymentMethodId) await billing.deleteCard(previousPaymentMethodId);
        await this.deps.audit.withTx(trx).insert({ actor: { type: 'account', id: accountId }, action: 'billing.payment_method_replaced', workspaceId, accountId, data: { brand: card.brand, last4: card.last4 } });
        await this.deps.outbox.record(trx, { type: 'billing.payment_method_updated', workspaceId, data: { workspaceId, brand: card.brand, last4: card.last4 } });
        return { workspaceId };
      },
      after: [
        {
          name: 'detach_previous',
          async run(ctx, key) {
            const previous = input(ctx).previousPaymentMethodId;
            if (previous) await gateway.detachPaymentMethod(previous, { idempotencyKey: key });
            return { objectId: previous };
          },
        },
      ],
    };
  }

  private async lockActiveWorkspace(trx: Tx, workspaceId: string): Promise<void> {
    const workspace = await this.deps.workspaces.withTx(trx).lock(workspaceId);
    if (!workspace) throw workspaceNotFound();
    if (workspace.status === 'closed') throw new AppError('workspace_closed', 'The workspace was closed meanwhile; reopen it before changing its billing.');
  }
}

function changeOf(state: SubscriptionState, at: Date) {
  return { status: ourStatus(state.status), trialEnd: state.trialEnd, currentPeriodEnd: state.currentPeriodEnd, cancelAtPeriodEnd: state.cancelAtPeriodEnd, canceledAt: state.canceledAt, at };
}
