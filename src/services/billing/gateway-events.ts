import type { Db, Tx } from '../../db/database.js';
import type { SagaRepository } from '../../repositories/billing/saga-repository.js';
import { enqueueJob } from '../../repositories/job-queue.js';
import { AppError, RetryLater } from '../../errors.js';
import type { GatewayName, SubscriptionStatus } from '../../db/schema.js';
import type { BillingRepository } from '../../repositories/billing/billing-repository.js';
import type { GatewayEventRepository } from '../../repositories/billing/gateway-event-repository.js';
import type { GatewayEvent, SubscriptionState } from './payment-gateway.js';
import type { EventRecorder } from '../events/event-recorder.js';

/** A GatewayEvent as stored in gateway_events.payload (JSON). */
export function eventPayload(event: GatewayEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}

function eventFromPayload(payload: Record<string, unknown>): GatewayEvent {
  const event = payload as unknown as GatewayEvent & { createdAt: string };
  const sub = event.subscription as (SubscriptionState & Record<string, unknown>) | undefined;
  const date = (value: unknown) => (typeof value === 'string' ? new Date(value) : null);
  return {
    ...event,
    createdAt: new Date(event.createdAt),
    ...(sub
      ? {
          subscription: {
            ...sub,
            trialEnd: date(sub.trialEnd),
            currentPeriodEnd: date(sub.currentPeriodEnd),
            canceledAt: date(sub.canceledAt),
            createdAt: date(sub.createdAt) ?? new Date(0),
          },
        }
      : {}),
  };
}

/** Our four statuses from the gateway's (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses). */
export function ourStatus(status: SubscriptionState['status']): SubscriptionStatus {
  switch (status) {
    case 'trialing':
    case 'active':
    case 'past_due':
    case 'canceled':
      return status;
    case 'incomplete_expired':
      return 'canceled';
    default:
      // incomplete, unpaid, paused: the service is owed money.
      return 'past_due';
  }
}

/** An event about an object we do not know yet (it raced its sign-up): processed again later. */
export class UnknownGatewayObject extends RetryLater {
  constructor(objectId: string | null) {
    super(`No subscription ${objectId ?? '(none)'} is known yet; the event is retried later.`);
    this.name = 'UnknownGatewayObject';
  }
}

/** What processing an event did. */
export type EventOutcome = 'applied' | 'stale' | 'ignored' | 'duplicate';

/**
 * Inbound gateway events: recorded once by event id (a duplicate delivery changes nothing), then
 * applied by a job. Stripe may deliver events more than once and in any order
 * (https://docs.stripe.com/webhooks#handle-duplicate-events, #event-ordering): a subscription only
 * moves to a state with a newer gateway time than the one it has, and canceled is final.
 */
export class GatewayEventService {
  constructor(
    private readonly deps: {
      db: Db;
      events: GatewayEventRepository;
      billing: BillingRepository;
      sagas: SagaRepository;
      /** The outbox: a change the gateway reported becomes a billing.* event in the same transaction. */
      outbox: EventRecorder;
      /** Verifies a Stripe webhook (signature and timestamp); unset when STRIPE_WEBHOOK_SECRET is. */
      verifyStripeWebhook?: (rawBody: Buffer, signature: string) => GatewayEvent;
    },
  ) {}

  /** A Stripe webhook delivery: verified, then recorded once; false for a duplicate. */
  async receiveStripeWebhook(rawBody: Buffer, signature: string): Promise<boolean> {
    const verify = this.deps.verifyStripeWebhook;
    if (!verify) throw new AppError('not_found', 'Stripe webhooks are not configured here: set STRIPE_WEBHOOK_SECRET.');
    let event: GatewayEvent;
    try {
      event = verify(rawBody, signature);
    } catch (error) {
      throw new AppError('invalid_signature', `The Stripe-Signature header does not match this payload: ${error instanceof Error ? error.message : 'unreadable event'}`);
    }
    return this.receive('stripe', event);
  }

  /** Records a verified event; false when it had been received already. */
  receive(gateway: GatewayName, event: GatewayEvent): Promise<boolean> {
    return this.deps.db.transaction().execute((trx) =>
      this.deps.events.withTx(trx).record(trx, gateway, { id: event.id, type: event.type, objectId: event.objectId, createdAt: event.createdAt, payload: eventPayload(event) }),
    );
  }

  /** Applies a recorded event once; throws UnknownGatewayObject so the job retries it later. */
  async process(eventId: string): Promise<EventOutcome> {
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        const events = this.deps.events.withTx(trx);
        const row = await events.lock(eventId);
        if (!row || row.processedAt) return 'duplicate';
        const outcome = await this.apply(trx, this.deps.billing.withTx(trx), this.deps.sagas.withTx(trx), eventFromPayload(row.payload));
        await events.markProcessed(eventId, outcome);
        return outcome;
      });
    } catch (error) {
      await this.deps.events.recordAttempt(eventId, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async apply(trx: Tx, billing: BillingRepository, sagas: SagaRepository, event: GatewayEvent): Promise<EventOutcome> {
    switch (event.type) {
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sub = event.subscription;
        if (!sub) throw new UnknownGatewayObject(event.objectId);
        const known = await billing.findSubscription(sub.id);
        if (!known) throw new UnknownGatewayObject(event.objectId);
        const status = event.type === 'customer.subscription.deleted' ? 'canceled' : ourStatus(sub.status);
        const changed = await billing.applySubscriptionChange(sub.id, {
          status,
          trialEnd: sub.trialEnd,
          currentPeriodEnd: sub.currentPeriodEnd,
          cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
          canceledAt: sub.canceledAt,
          at: event.createdAt,
        });
        if (!changed) return 'stale';
        await this.deps.outbox.record(trx, {
          type: 'billing.subscription_updated',
          workspaceId: known.workspaceId,
          data: {
            workspaceId: known.workspaceId,
            subscriptionId: sub.id,
            status,
            cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
            trialEnd: sub.trialEnd?.toISOString() ?? null,
            currentPeriodEnd: sub.currentPeriodEnd?.toISOString() ?? null,
          },
        });
        return 'applied';
      }
      case 'invoice.payment_failed':
      case 'invoice.payment_succeeded': {
        const known = event.objectId ? await billing.findSubscription(event.objectId) : undefined;
        if (!known) throw new UnknownGatewayObject(event.objectId);
        if (event.type === 'invoice.payment_failed') {
          if (!(await billing.applySubscriptionStatus(known.gatewayId, 'past_due', event.createdAt))) return 'stale';
          await this.deps.outbox.record(trx, { type: 'billing.payment_failed', workspaceId: known.workspaceId, data: { workspaceId: known.workspaceId, subscriptionId: known.gatewayId } });
          return 'applied';
        }
        // A paid invoice ends a past-due period, or a trial that is over; a trial's $0 invoice changes nothing.
        const trialOver = known.status === 'trialing' && (known.trialEnd === null || known.trialEnd <= event.createdAt);
        if (known.status !== 'past_due' && !trialOver) return 'ignored';
        return (await billing.applySubscriptionStatus(known.gatewayId, 'active', event.createdAt)) ? 'applied' : 'stale';
      }
      case 'setup_intent.succeeded': {
        // A workspace's saga waiting for this challenge goes on by itself, even if the browser never
        // calls again; a sign-up's waits for its complete (it opens the session).
        const waiting = event.objectId ? await sagas.findWaitingFor(event.objectId) : undefined;
        if (!waiting) return 'ignored';
        await enqueueJob(trx, 'resume_billing_saga', { sagaId: waiting.id }, { jobKey: `resume_billing_saga:${waiting.id}` });
        return 'applied';
      }
      default:
        return 'ignored';
    }
  }
}
