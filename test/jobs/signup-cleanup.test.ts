import { parseCrontab } from 'graphile-worker';
import { sql } from 'kysely';
import t from 'tap';
import type { Db } from '../../src/db/database.js';
import { CRONTAB } from '../../src/jobs/worker.js';
import { testContext } from '../helpers/app.js';
import { PASSWORD, uniqueEmail } from '../helpers/factories.js';
import { flowApi, readyFlow, US_ADDRESS, verifiedFlow } from '../helpers/signup.js';

/** Moves every flow's life into the past, as if nobody came back. */
const expireAll = (db: Db) =>
  sql`update signup_flows set expires_at = now() - interval '1 second' where completed_at is null`.execute(db);

t.test('the crontab runs the cleanup every 5 minutes', async (t) => {
  const item = parseCrontab(CRONTAB).find((entry) => entry.task === 'clean_signup_flows');
  t.ok(item, 'scheduled');
  const at = (min: number) => item!.match({ min, hour: 3, date: 1, month: 1, dow: 0 });
  t.same([0, 5, 55].map(at), [true, true, true]);
  t.same([1, 4, 59].map(at), [false, false, false]);
});

t.test('an abandoned flow with consent is exported once as a lead; without consent, discarded or completed never', async (t) => {
  const ctx = await testContext(t);
  const api = flowApi(ctx);
  const consented = await verifiedFlow(ctx, { marketingConsent: true });
  const version = (await api.get(consented)).json().version;
  await api.patch(consented, { version, profile: { firstName: 'Grace', lastName: 'Hopper', password: PASSWORD }, company: { name: 'Navy' } });
  const unconsented = await verifiedFlow(ctx, { marketingConsent: false });
  const discarded = await verifiedFlow(ctx, { marketingConsent: true });
  await api.discard(discarded);
  const completed = await readyFlow(ctx, { email: uniqueEmail('done') });
  await api.setEmail(completed, { email: completed.email, marketingConsent: true });
  t.equal((await api.complete(completed)).statusCode, 201);
  await expireAll(ctx.runtime.db);

  await sql`select graphile_worker.add_job('clean_signup_flows', '{}'::json)`.execute(ctx.runtime.db);
  await ctx.runJobs();
  const leads = await ctx.runtime.db.selectFrom('signup_leads').selectAll().execute();
  t.equal(leads.length, 1, 'only the consented, abandoned flow');
  t.match(leads[0], {
    email: consented.email,
    email_verified: true,
    first_name: 'Grace',
    last_name: 'Hopper',
    company_name: 'Navy',
    last_step: 'company',
    marketing_consent: true,
    consent_text_version: 'v1',
  });
  t.ok(leads[0]!.consent_at && leads[0]!.started_at && leads[0]!.abandoned_at);
  const flows = await ctx.runtime.db.selectFrom('signup_flows').select(['email', 'expired_at', 'lead_exported_at']).execute();
  t.equal(flows.filter((f) => f.expired_at).length, 2, 'the two open flows are marked expired');
  t.match((await api.get(unconsented)).json(), { status: 410, code: 'signup_flow_expired' });

  const again = await ctx.runtime.services.signupLeads.cleanup();
  t.same(again, { expired: 0, leadsExported: 0, purged: 0 }, 'a second run exports nothing again');
  t.equal((await ctx.runtime.db.selectFrom('signup_leads').selectAll().execute()).length, 1);

  const erase = await ctx.app.inject({ method: 'DELETE', url: `/v1/admin/leads/${leads[0]!.id}`, headers: { authorization: 'Bearer test-admin-token-0123456789abcdef0123' } });
  t.equal(erase.statusCode, 204);
  const source = await ctx.runtime.db.selectFrom('signup_flows').selectAll().where('id', '=', consented.id).executeTakeFirstOrThrow();
  t.match(source, { email: null, data: {} }, 'erasing a lead purges what its flow still held too');
  t.ok(source.purged_at);
});

t.test('two cleanup runs at once, on two instances, export each lead exactly once', async (t) => {
  const ctx = await testContext(t);
  const other = await ctx.secondInstance();
  await sql`
    insert into signup_flows (email, email_verified_at, marketing_consent, consent_text_version, consent_at, steps_reached, expires_at)
    select 'lead-' || i || '@example.com', case when i % 2 = 0 then now() end, true, 'v1', now(), '{email}', now() - interval '1 minute'
    from generate_series(1, 1200) as i`.execute(ctx.runtime.db);
  const [a, b] = await Promise.all([ctx.runtime.services.signupLeads.cleanup(), other.runtime.services.signupLeads.cleanup()]);
  t.equal(a.leadsExported + b.leadsExported, 1200, 'between them, every lead once');
  const counts = await sql<{ leads: number; distinct_flows: number; exported: number }>`
    select count(*)::int as leads, count(distinct flow_id)::int as distinct_flows,
           (select count(*)::int from signup_flows where lead_exported_at is not null) as exported
    from signup_leads`.execute(ctx.runtime.db);
  t.same(counts.rows[0], { leads: 1200, distinct_flows: 1200, exported: 1200 });
});

t.test('personal data of expired and completed flows is purged after the retention period; the funnel still counts them', async (t) => {
  const ctx = await testContext(t, { env: { SIGNUP_FLOW_RETENTION_DAYS: '30' } });
  const api = flowApi(ctx);
  const abandoned = await verifiedFlow(ctx, { marketingConsent: true });
  const version = (await api.get(abandoned)).json().version;
  await api.patch(abandoned, { version, address: US_ADDRESS, profile: { firstName: 'A', lastName: 'B', password: PASSWORD } });
  const completed = await readyFlow(ctx);
  t.equal((await api.complete(completed)).statusCode, 201);
  await expireAll(ctx.runtime.db);
  await ctx.runtime.services.signupLeads.cleanup();

  await sql`update signup_flows set expired_at = now() - interval '29 days', completed_at = now() - interval '29 days' where expired_at is not null or completed_at is not null`.execute(ctx.runtime.db);
  t.equal((await ctx.runtime.services.signupLeads.cleanup()).purged, 0, 'not before the retention period');
  await sql`update signup_flows set expired_at = now() - interval '31 days' where expired_at is not null`.execute(ctx.runtime.db);
  await sql`update signup_flows set completed_at = now() - interval '31 days' where completed_at is not null`.execute(ctx.runtime.db);
  t.equal((await ctx.runtime.services.signupLeads.cleanup()).purged, 2);
  const rows = await ctx.runtime.db.selectFrom('signup_flows').selectAll().execute();
  for (const row of rows) {
    t.match(row, { email: null, data: {}, password_hash: null, code_hash: null });
    t.ok(row.purged_at);
    t.ok(row.steps_reached.includes('email'), 'what the funnel counts stays');
  }
  t.equal((await ctx.runtime.db.selectFrom('signup_flow_tokens').selectAll().execute()).length, 0, 'cookies go too');
  t.equal((await ctx.runtime.db.selectFrom('signup_leads').selectAll().execute()).length, 1, 'the exported lead stays (erase it through the admin API)');
  t.equal((await ctx.runtime.db.selectFrom('profiles').selectAll().execute()).length, 1, 'the account’s profile is not the staging data');
});
