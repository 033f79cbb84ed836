import { parseCrontab } from 'graphile-worker';
import { sql } from 'kysely';
import t from 'tap';
import { CRONTAB } from '../../src/jobs/worker.js';
import { hashToken } from '../../src/services/tokens.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { signUp, signUpVerified, type Owner } from '../helpers/factories.js';

const endsIn = (ctx: TestContext, owner: Owner, interval: string) =>
  sql`update workspaces set trial_ends_at = now() + ${interval}::interval where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
const trialMails = (ctx: TestContext, owner: Owner, word: 'ends soon' | 'has ended') => ctx.smtp.to(owner.email).filter((m) => m.subject.includes(word));
const extend = (ctx: TestContext, owner: Owner, extendDays: number) =>
  ctx.app.inject({ method: 'POST', url: `/v1/admin/workspaces/${owner.workspaceId}/trial`, headers: { authorization: `Bearer ${ctx.config.adminToken}` }, payload: { extendDays, reason: 'test' } });

t.test('the "ends soon" reminder goes out once per trial end, even when the job runs twice at once', async (t) => {
  const ctx = await testContext(t, { env: { TRIAL_REMINDER_DAYS: '3' } });
  const owner = await signUpVerified(ctx, { workspaceName: 'Acme' });
  const later = await signUpVerified(ctx);
  await endsIn(ctx, owner, '2 days');
  const claimed = await Promise.all([ctx.runtime.services.lifecycle.queueTrialEmails(), ctx.runtime.services.lifecycle.queueTrialEmails()]);
  t.equal(claimed[0] + claimed[1], 1, 'claimed once between the two runs');
  await ctx.runJobs();
  await ctx.runtime.services.lifecycle.queueTrialEmails();
  await ctx.runJobs();
  const mails = trialMails(ctx, owner, 'ends soon');
  t.equal(mails.length, 1, 'one reminder');
  t.match(mails[0]!.subject, 'Your trial of Acme ends soon');
  t.match(mails[0]!.text, 'http://app.test/workspaces/');
  t.equal(trialMails(ctx, later, 'ends soon').length, 0, 'a trial ending in 14 days gets none yet');

  t.equal((await extend(ctx, owner, 1)).statusCode, 200);
  await ctx.runtime.services.lifecycle.queueTrialEmails();
  await ctx.runJobs();
  t.equal(trialMails(ctx, owner, 'ends soon').length, 2, 'an extension earns a new reminder');
});

t.test('an email queued before an extension is not sent for the old end date', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await ctx.runJobs();
  await endsIn(ctx, owner, '1 day');
  t.equal(await ctx.runtime.services.lifecycle.queueTrialEmails(), 1);
  t.equal((await extend(ctx, owner, 30)).statusCode, 200);
  await ctx.runJobs();
  t.equal(trialMails(ctx, owner, 'ends soon').length, 0, 'stale reminder skipped');
});

t.test('the "trial ended" email goes out once at expiry, through the cron task', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Acme' });
  const unverified = await signUp(ctx.app);
  await endsIn(ctx, owner, '-1 hour');
  for (let run = 0; run < 2; run++) {
    await sql`select graphile_worker.add_job('queue_trial_emails')`.execute(ctx.runtime.db);
    await ctx.runJobs();
  }
  const mails = trialMails(ctx, owner, 'has ended');
  t.equal(mails.length, 1);
  t.match(mails[0]!.subject, 'Your trial of Acme has ended');
  t.equal(ctx.smtp.to(unverified.email).filter((m) => m.subject.includes('trial')).length, 0, 'no trial, no trial emails');
});

t.test('the daily purge deletes dead tokens, old invitations, expired sessions (account and admin page) and stale keys, in batches', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const db = ctx.runtime.db;
  await db.insertInto('email_verifications').values([
    { account_id: owner.accountId, token_hash: hashToken('old-used'), expires_at: new Date(Date.now() - 40 * 86_400_000), verified_at: new Date(Date.now() - 35 * 86_400_000) },
    { account_id: owner.accountId, token_hash: hashToken('recently-expired'), expires_at: new Date(Date.now() - 86_400_000) },
  ]).execute();
  await db.insertInto('invitations').values([
    { workspace_id: owner.workspaceId, email: 'old@example.com', role: 'member', token_hash: hashToken('old-invite'), status: 'revoked', expires_at: new Date(Date.now() - 30 * 86_400_000), created_at: new Date(Date.now() - 40 * 86_400_000) },
    { workspace_id: owner.workspaceId, email: 'new@example.com', role: 'member', token_hash: hashToken('new-invite'), status: 'pending', expires_at: new Date(Date.now() + 86_400_000) },
  ]).execute();
  await db.insertInto('sessions').values({ token_hash: hashToken('expired-session'), account_id: owner.accountId, expires_at: new Date(Date.now() - 1000) }).execute();
  await db.insertInto('admin_page_sessions').values([
    { token_hash: hashToken('expired-admin-page'), admin_token_mac: hashToken('mac'), actor: 'Olivia Ops', expires_at: new Date(Date.now() - 1000) },
    { token_hash: hashToken('live-admin-page'), admin_token_mac: hashToken('mac'), actor: 'Olivia Ops', expires_at: new Date(Date.now() + 3_600_000) },
  ]).execute();
  await db.insertInto('idempotency_keys').values([
    { scope: 'registration', key: 'old', request_hash: hashToken('x'), created_at: new Date(Date.now() - 25 * 3_600_000) },
    { scope: 'registration', key: 'fresh', request_hash: hashToken('y') },
  ]).execute();
  await db.insertInto('rate_limits').values([{ key: 'old', hits: 3, window_ends_at: new Date(Date.now() - 1000) }, { key: 'live', hits: 1, window_ends_at: new Date(Date.now() + 60_000) }]).execute();
  await db.insertInto('email_deliveries').values({ message_key: 'trial-ended.old', sent_at: new Date(Date.now() - 31 * 86_400_000) }).execute();

  const purged = await ctx.runtime.services.lifecycle.purge();
  t.same(purged, { verifications: 1, invitations: 1, sessions: 1, adminPageSessions: 1, idempotencyKeys: 1, rateLimits: 1, emailDeliveries: 1 });
  const left = async (table: 'email_verifications' | 'invitations' | 'sessions' | 'idempotency_keys' | 'rate_limits') => (await db.selectFrom(table).selectAll().execute()).length;
  t.equal(await left('email_verifications'), 2, 'the registration token and the recently expired one stay');
  t.equal(await left('invitations'), 1);
  t.equal(await left('sessions'), 1, 'the live session stays');
  t.same(await db.selectFrom('admin_page_sessions').select('actor').execute(), [{ actor: 'Olivia Ops' }], 'the live admin page session stays');
  t.equal(await left('idempotency_keys'), 1);
  t.same(await db.selectFrom('email_deliveries').select('message_key').execute(), [], 'the month-old delivery record went');
  const counters = await db.selectFrom('rate_limits').select('key').where('key', 'in', ['old', 'live']).execute();
  t.same(counters.map((c) => c.key), ['live'], 'live counters stay (the requests above made their own)');
  await sql`select graphile_worker.add_job('purge_expired')`.execute(db);
  await ctx.runJobs();
  t.same(await ctx.runtime.services.lifecycle.purge(), { verifications: 0, invitations: 0, sessions: 0, adminPageSessions: 0, idempotencyKeys: 0, rateLimits: 0, emailDeliveries: 0 }, 'idempotent');
});

t.test('the crontab schedules the cleanup, the trial emails and the purges', async (t) => {
  const items = parseCrontab(CRONTAB);
  t.same(items.map((item) => item.task).sort(), ['clean_signup_flows', 'close_abandoned_workspaces', 'purge_expired', 'purge_webhook_log', 'queue_trial_emails', 'recover_billing_sagas']);
});
