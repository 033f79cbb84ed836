import { sql } from 'kysely';
import t from 'tap';
import { ageSagas, billingRows, liveCustomersOf, liveSubscriptionsOf, sagasOf, stripeContext, subscribe, trialOwner } from '../helpers/billing.js';

const PIVOT_STEPS = ['customer', 'setup_intent', 'default_payment_method', 'subscription'];

t.test('the process stopped between every pair of steps: recovery leaves no orphan on either side', async (t) => {
  const { ctx, stripe } = await stripeContext(t, { captureLogs: true });
  const runner = ctx.runtime.services.sagaRunner;
  for (const crashAfter of [...PIVOT_STEPS, 'pivot']) {
    await t.test(`stopped after ${crashAfter}`, async (t) => {
      const owner = await trialOwner(ctx);
      runner.crashAfter = crashAfter;
      const crashed = await subscribe(ctx, owner);
      runner.crashAfter = undefined;
      t.equal(crashed.statusCode, 500, `the request died with its process: ${crashed.body}`);
      t.equal(await ctx.runtime.services.billing.recover(), 0, 'a saga with recent progress is not touched');
      await ageSagas(ctx);
      // Two recovery runs at once: each saga is handled once.
      const handled = await Promise.all([ctx.runtime.services.billing.recover(), ctx.runtime.services.billing.recover()]);
      t.equal(handled[0]! + handled[1]!, 1, `handled once ${handled[0]! + handled[1]! === 1 ? '' : ctx.logs().split('\n').filter((l) => l.includes('"level":50') && !l.includes('SagaCrash')).join('\n')}`);
      const [saga] = await sagasOf(ctx, owner.workspaceId);
      if (crashAfter === 'pivot') {
        t.equal(saga!.state, 'completed', 'after the pivot, recovery finishes');
        t.same(await billingRows(ctx, owner.workspaceId), { customers: 1, cards: 1, subscriptions: 1, plan: 'pro' });
        t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
        t.equal(liveSubscriptionsOf(stripe, owner.workspaceId).length, 1);
        const billing = await ctx.runtime.db.selectFrom('billing_customers').select('customer_id').where('workspace_id', '=', owner.workspaceId).executeTakeFirstOrThrow();
        t.ok(stripe.customers.get(billing.customer_id) && !stripe.customers.get(billing.customer_id)!.deleted, 'the billing row points at a live customer');
        return;
      }
      t.equal(saga!.state, 'failed', 'before the pivot, recovery compensates');
      t.ok(saga!.steps.every((s) => s.status === 'compensated' || s.status === 'failed'), JSON.stringify(saga!.steps.map((s) => [s.step, s.status])));
      t.same(liveCustomersOf(stripe, owner.workspaceId), [], 'no customer left at the gateway');
      t.same(liveSubscriptionsOf(stripe, owner.workspaceId), []);
      t.same(await billingRows(ctx, owner.workspaceId), { customers: 0, cards: 0, subscriptions: 0, plan: 'trial' }, 'and none of ours');
      const deletes = stripe.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith('/v1/customers/') && r.idempotencyKey?.includes(saga!.id));
      t.equal(deletes.length, 1, 'the customer was deleted once');
      const retried = await subscribe(ctx, owner);
      t.equal(retried.statusCode, 200, `the person can simply try again ${retried.statusCode === 200 ? '' : ctx.logs().split('\n').filter((l) => l.includes('"level":50')).join('\n')}`);
      t.equal(liveCustomersOf(stripe, owner.workspaceId).length, 1);
    });
  }
});

t.test('a crash in the middle of a gateway call (intent written, result unknown): recovery replays the key and undoes what was made', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const runner = ctx.runtime.services.sagaRunner;
  runner.crashAfter = 'setup_intent';
  await subscribe(ctx, owner);
  runner.crashAfter = undefined;
  const [saga] = await sagasOf(ctx, owner.workspaceId);
  // As if the process died after the default-card call reached Stripe but before its result was journaled.
  await ctx.runtime.db.insertInto('billing_saga_steps').values({ saga_id: saga!.id, step: 'default_payment_method', idempotency_key: `saga_${saga!.id}_default_payment_method_run`, status: 'started' }).execute();
  await ageSagas(ctx);
  t.equal(await ctx.runtime.services.billing.recover(), 1);
  const [after] = await sagasOf(ctx, owner.workspaceId);
  t.equal(after!.state, 'failed');
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
});

t.test('recovery runs as a job, and a request joining a stalled saga drives it forward', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  const runner = ctx.runtime.services.sagaRunner;
  runner.crashAfter = 'default_payment_method';
  await subscribe(ctx, owner);
  runner.crashAfter = undefined;
  // The same request again, before any recovery: it joins the saga and finishes it from the journal.
  const before = stripe.requests.length;
  const resumed = await subscribe(ctx, owner);
  t.equal(resumed.statusCode, 200);
  t.same(stripe.requests.slice(before).map((r) => r.path), ['/v1/subscriptions'], 'only the missing step ran');
  t.equal((await sagasOf(ctx, owner.workspaceId)).length, 1);

  const other = await trialOwner(ctx);
  runner.crashAfter = 'customer';
  await subscribe(ctx, other);
  runner.crashAfter = undefined;
  await ageSagas(ctx);
  await sql`select graphile_worker.add_job('recover_billing_sagas', '{}'::json)`.execute(ctx.runtime.db);
  await ctx.runJobs();
  const [saga] = await sagasOf(ctx, other.workspaceId);
  t.equal(saga!.state, 'failed');
  t.same(liveCustomersOf(stripe, other.workspaceId), []);
});

t.test('a saga waiting for 3-D Secure is left alone until SAGA_ACTION_TIMEOUT_SECONDS, then undone', async (t) => {
  const { ctx, stripe } = await stripeContext(t);
  const owner = await trialOwner(ctx);
  t.equal((await subscribe(ctx, owner, 'pm_card_authenticationRequired')).statusCode, 409);
  await ctx.runtime.db.updateTable('billing_sagas').set({ updated_at: sql<Date>`now() - interval '10 minutes'` }).execute();
  t.equal(await ctx.runtime.services.billing.recover(), 0, 'the person may still be answering their bank');
  await ctx.runtime.db.updateTable('billing_sagas').set({ updated_at: sql<Date>`now() - interval '2 hours'` }).execute();
  t.equal(await ctx.runtime.services.billing.recover(), 1);
  t.same(liveCustomersOf(stripe, owner.workspaceId), []);
  const intent = [...stripe.setupIntents.values()].find((i) => (i.metadata as Record<string, string>).workspace_id === owner.workspaceId);
  t.equal(intent!.status, 'canceled');
});
