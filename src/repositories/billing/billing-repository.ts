import { sql } from 'kysely';
import type { GatewayName, SubscriptionStatus } from '../../db/schema.js';
import { Repository } from '../repository.js';

/** A workspace's billing as stored: its gateway customer, subscription and default card. */
export interface BillingRow {
  customerId: string | null;
  gateway: GatewayName | null;
  subscription: SubscriptionRow | null;
  card: { gatewayId: string; brand: string; last4: string; expMonth: number; expYear: number } | null;
}

/** A subscription row. */
export interface SubscriptionRow {
  workspaceId: string;
  gatewayId: string;
  customerId: string;
  plan: string;
  status: SubscriptionStatus;
  trialEnd: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  gatewayUpdatedAt: Date;
}

/** A subscription's state to store; `at` is the gateway time it describes. */
export interface SubscriptionChange {
  status: SubscriptionStatus;
  trialEnd: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  at: Date;
}

const subscriptionColumns = [
  'workspace_id as workspaceId',
  'gateway_id as gatewayId',
  'customer_id as customerId',
  'plan',
  'status',
  'trial_end as trialEnd',
  'current_period_end as currentPeriodEnd',
  'cancel_at_period_end as cancelAtPeriodEnd',
  'canceled_at as canceledAt',
  'gateway_updated_at as gatewayUpdatedAt',
] as const;

/** SQL for billing_customers, payment_methods and subscriptions. */
export class BillingRepository extends Repository {
  /** The workspace's billing; the subscription shown is the live one, else the newest. */
  async findByWorkspace(workspaceId: string): Promise<BillingRow> {
    const customer = await this.db
      .selectFrom('billing_customers')
      .select(['customer_id as customerId', 'gateway'])
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    const subscription = await this.db
      .selectFrom('subscriptions')
      .select(subscriptionColumns)
      .where('workspace_id', '=', workspaceId)
      .orderBy(sql`status = 'canceled'`)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const card = await this.db
      .selectFrom('payment_methods')
      .select(['gateway_id as gatewayId', 'brand', 'last4', 'exp_month as expMonth', 'exp_year as expYear'])
      .where('workspace_id', '=', workspaceId)
      .where('is_default', '=', true)
      .executeTakeFirst();
    return { customerId: customer?.customerId ?? null, gateway: customer?.gateway ?? null, subscription: subscription ?? null, card: card ?? null };
  }

  async insertCustomer(workspaceId: string, gateway: GatewayName, customerId: string): Promise<void> {
    await this.db.insertInto('billing_customers').values({ workspace_id: workspaceId, gateway, customer_id: customerId }).execute();
  }

  /** Stores a card as the workspace's default; the previous default stays, no longer default. */
  async insertDefaultCard(input: { workspaceId: string; customerId: string; gatewayId: string; brand: string; last4: string; expMonth: number; expYear: number }): Promise<void> {
    await this.db.updateTable('payment_methods').set({ is_default: false }).where('workspace_id', '=', input.workspaceId).where('is_default', '=', true).execute();
    await this.db
      .insertInto('payment_methods')
      .values({
        workspace_id: input.workspaceId,
        customer_id: input.customerId,
        gateway_id: input.gatewayId,
        brand: input.brand,
        last4: input.last4,
        exp_month: input.expMonth,
        exp_year: input.expYear,
        is_default: true,
      })
      .onConflict((oc) => oc.column('gateway_id').doUpdateSet({ is_default: true }))
      .execute();
  }

  async deleteCard(gatewayId: string): Promise<void> {
    await this.db.deleteFrom('payment_methods').where('gateway_id', '=', gatewayId).execute();
  }

  async insertSubscription(input: { workspaceId: string; customerId: string; gatewayId: string; plan: string } & SubscriptionChange): Promise<void> {
    await this.db
      .insertInto('subscriptions')
      .values({
        workspace_id: input.workspaceId,
        customer_id: input.customerId,
        gateway_id: input.gatewayId,
        plan: input.plan,
        status: input.status,
        trial_end: input.trialEnd,
        current_period_end: input.currentPeriodEnd,
        cancel_at_period_end: input.cancelAtPeriodEnd,
        canceled_at: input.canceledAt,
        gateway_updated_at: input.at,
      })
      .execute();
  }

  async findSubscription(gatewayId: string): Promise<SubscriptionRow | undefined> {
    return this.db.selectFrom('subscriptions').select(subscriptionColumns).where('gateway_id', '=', gatewayId).executeTakeFirst();
  }

  /**
   * Applies a state the gateway reported at `change.at`, unless a newer one was applied already or
   * the subscription is canceled (final at the gateway): events out of order never move it back.
   * Returns whether it changed.
   */
  async applySubscriptionChange(gatewayId: string, change: SubscriptionChange): Promise<boolean> {
    const result = await this.db
      .updateTable('subscriptions')
      .set({
        status: change.status,
        trial_end: change.trialEnd,
        current_period_end: change.currentPeriodEnd,
        cancel_at_period_end: change.cancelAtPeriodEnd,
        canceled_at: change.canceledAt,
        gateway_updated_at: change.at,
        updated_at: sql`now()`,
      })
      .where('gateway_id', '=', gatewayId)
      .where('gateway_updated_at', '<=', change.at)
      .where('status', '<>', 'canceled')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Sets only the status, with the same ordering rule as applySubscriptionChange. */
  async applySubscriptionStatus(gatewayId: string, status: SubscriptionStatus, at: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('subscriptions')
      .set({ status, gateway_updated_at: at, updated_at: sql`now()` })
      .where('gateway_id', '=', gatewayId)
      .where('gateway_updated_at', '<=', at)
      .where('status', '<>', 'canceled')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The workspace's trial ends when its subscription's trial does. */
  async setWorkspaceTrialEnd(workspaceId: string, trialEnd: Date): Promise<void> {
    await this.db.updateTable('workspaces').set({ trial_ends_at: trialEnd }).where('id', '=', workspaceId).execute();
  }

  async setWorkspacePlan(workspaceId: string, plan: string): Promise<void> {
    await this.db.updateTable('workspaces').set({ plan }).where('id', '=', workspaceId).execute();
  }
}
