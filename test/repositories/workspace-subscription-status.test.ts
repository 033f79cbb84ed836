import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import t from 'tap';
import { createPool, type Database } from '../../src/db/database.js';
import type { SubscriptionStatus } from '../../src/db/schema.js';
import { AdminRepository } from '../../src/repositories/admin-repository.js';
import { BillingRepository } from '../../src/repositories/billing/billing-repository.js';
import { createTestDatabase } from '../helpers/database.js';

t.test('a workspace keeps the status of its current subscription for the admin search', async (t) => {
  const url = await createTestDatabase(t);
  const pool = createPool(url, 2);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  t.teardown(() => db.destroy());
  const billing = new BillingRepository(db);
  const admin = new AdminRepository(db);

  /** A workspace with its onboarding row (the admin list joins it) and a gateway customer. */
  async function workspace(): Promise<{ id: string; customerId: string }> {
    const { id } = await db.insertInto('workspaces').values({ name: `Subscribed ${randomUUID()}` }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('onboarding_progress').values({ workspace_id: id }).execute();
    const customerId = `cus_${randomUUID()}`;
    await billing.insertCustomer(id, 'local', customerId);
    return { id, customerId };
  }

  /** The stored column, and what the admin list shows and filters on. */
  async function status(id: string) {
    const { subscription_status: column } = await db.selectFrom('workspaces').select('subscription_status').where('id', '=', id).executeTakeFirstOrThrow();
    const [listed] = await admin.listWorkspaces({ id }, 3, undefined, 1);
    const filtered = await admin.listWorkspaces({ id, subscriptionStatus: column }, 3, undefined, 1);
    return { column, listed: listed!.subscriptionStatus, foundByFilter: filtered.length === 1 };
  }

  let clock = Date.now();
  const subscribe = (ws: { id: string; customerId: string }, gatewayId: string, state: SubscriptionStatus) =>
    billing.insertSubscription({
      workspaceId: ws.id,
      customerId: ws.customerId,
      gatewayId,
      plan: 'pro',
      status: state,
      trialEnd: null,
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      at: new Date(clock++),
    });

  const ws = await workspace();
  t.same(await status(ws.id), { column: 'none', listed: null, foundByFilter: true }, 'none before any subscription');

  await subscribe(ws, 'sub_first', 'active');
  t.same(await status(ws.id), { column: 'active', listed: 'active', foundByFilter: true }, 'a created subscription');

  t.ok(await billing.applySubscriptionStatus('sub_first', 'past_due', new Date(clock++)));
  t.same(await status(ws.id), { column: 'past_due', listed: 'past_due', foundByFilter: true }, 'a subscription gone past due');

  t.ok(await billing.applySubscriptionChange('sub_first', { status: 'canceled', trialEnd: null, currentPeriodEnd: null, cancelAtPeriodEnd: false, canceledAt: new Date(), at: new Date(clock++) }));
  t.same(await status(ws.id), { column: 'canceled', listed: 'canceled', foundByFilter: true }, 'a canceled subscription');

  await subscribe(ws, 'sub_second', 'trialing');
  t.same(await status(ws.id), { column: 'trialing', listed: 'trialing', foundByFilter: true }, 'a newer subscription replaces the older canceled one');

  await db.updateTable('subscriptions').set({ created_at: new Date(Date.now() + 60_000) }).where('gateway_id', '=', 'sub_first').execute();
  t.same(await status(ws.id), { column: 'trialing', listed: 'trialing', foundByFilter: true }, 'the live subscription stays current over a newer canceled one');

  await billing.applySubscriptionStatus('sub_second', 'canceled', new Date(clock++));
  t.same(await status(ws.id), { column: 'canceled', listed: 'canceled', foundByFilter: true }, 'both canceled: the newest one is current');

  await db.deleteFrom('billing_customers').where('customer_id', '=', ws.customerId).execute();
  t.same(await status(ws.id), { column: 'none', listed: null, foundByFilter: true }, 'subscriptions removed with their customer leave none');

  const other = await workspace();
  await subscribe(other, 'sub_other', 'active');
  await db.updateTable('subscriptions').set({ workspace_id: ws.id }).where('gateway_id', '=', 'sub_other').execute();
  t.same([(await status(other.id)).column, (await status(ws.id)).column], ['none', 'active'], 'a subscription moved to another workspace moves its status');
});
