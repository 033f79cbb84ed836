import { sql } from 'kysely';
import t from 'tap';
import { hashToken } from '../../src/services/tokens.js';
import { testContext } from '../helpers/app.js';
import { concurrently, latestToken, signUp, statusCounts } from '../helpers/factories.js';
import { tokenFrom } from '../helpers/smtp.js';

const confirm = (app: Parameters<typeof signUp>[0], token: string) =>
  app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } });
const resend = (app: Parameters<typeof signUp>[0], cookie: string) =>
  app.inject({ method: 'POST', url: '/v1/email-verifications/resend', headers: { cookie } });

t.test('the verification email arrives over SMTP with the link in both parts, and the token is stored only hashed', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app, { name: 'Grace <Hopper>' });
  await ctx.runJobs();
  const [mail] = ctx.smtp.to(owner.email);
  t.ok(mail, 'one email');
  t.equal(ctx.smtp.to(owner.email).length, 1);
  t.equal(mail!.subject, 'Confirm your email address');
  const token = tokenFrom(mail!);
  t.equal(Buffer.from(token, 'base64url').length, 32, '32 random bytes, base64url');
  t.match(mail!.text, `http://app.test/verify-email?token=${token}`);
  t.match(mail!.html, `href="http://app.test/verify-email?token=${token}"`);
  t.match(mail!.html, 'Grace &#60;Hopper&#62;', 'names are escaped in HTML');
  const row = await ctx.runtime.db.selectFrom('email_verifications').selectAll().executeTakeFirstOrThrow();
  t.same(row.token_hash, hashToken(token), 'the stored value is the SHA-256 of the token');
  const jobs = await sql`select 1 from graphile_worker.jobs`.execute(ctx.runtime.db);
  t.equal(jobs.rows.length, 0, 'the job is done and gone');

  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 1, 'running the jobs again sends nothing twice');
});

t.test('opening the link never consumes the token; only the API call does', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const token = await latestToken(ctx, owner.email);
  for (const method of ['GET', 'HEAD', 'GET'] as const) {
    const opened = await ctx.app.inject({ method, url: `/verify-email?token=${token}` });
    t.equal(opened.statusCode, 200, `${method} of the hosted page only shows it`);
  }
  const response = await confirm(ctx.app, token);
  t.equal(response.statusCode, 200);
  t.same(response.json(), { accountId: owner.accountId, emailVerified: true });
});

t.test('confirming verifies the account and starts the trial of its workspaces, once', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const token = await latestToken(ctx, owner.email);
  t.equal((await confirm(ctx.app, token)).statusCode, 200);

  const me = (await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: owner.cookie } })).json();
  t.equal(me.account.emailVerified, true);
  const [workspace] = me.workspaces;
  t.equal(workspace.trialState, 'active');
  const days = (new Date(workspace.trialEndsAt).getTime() - Date.now()) / 86_400_000;
  t.ok(days > 13.9 && days <= 14, `trial ends in TRIAL_DAYS (14) days, got ${days}`);

  const again = await confirm(ctx.app, token);
  t.equal(again.statusCode, 400, 'a used token');
  t.match(again.json(), { code: 'invalid_token' });

  // A second usable token for the same account must not move the trial's end.
  const { hash } = { hash: hashToken('second-token') };
  await ctx.runtime.db
    .insertInto('email_verifications')
    .values({ account_id: owner.accountId, token_hash: hash, expires_at: new Date(Date.now() + 60_000) })
    .execute();
  t.equal((await confirm(ctx.app, 'second-token')).statusCode, 200);
  const after = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}`, headers: { cookie: owner.cookie } })).json();
  t.equal(after.trialEndsAt, workspace.trialEndsAt, 'the trial clock was not reset');

  const events = await ctx.runtime.db.selectFrom('audit_events').select('action').orderBy('occurred_at').execute();
  t.same(events.map((e) => e.action), ['account.registered', 'account.email_verified', 'trial.started'], 'the second confirmation changed nothing');
});

t.test('TRIAL_DAYS sets the trial length', async (t) => {
  const ctx = await testContext(t, { env: { TRIAL_DAYS: '30' } });
  const owner = await signUp(ctx.app);
  await confirm(ctx.app, await latestToken(ctx, owner.email));
  const workspace = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}`, headers: { cookie: owner.cookie } })).json();
  const days = (new Date(workspace.trialEndsAt).getTime() - Date.now()) / 86_400_000;
  t.ok(days > 29.9 && days <= 30, `30 days, got ${days}`);
});

t.test('unknown tokens answer 400 invalid_token, expired ones 410 token_expired', async (t) => {
  const ctx = await testContext(t);
  const unknown = await confirm(ctx.app, 'no-such-token');
  t.equal(unknown.statusCode, 400);
  t.match(unknown.json(), { code: 'invalid_token' });

  const owner = await signUp(ctx.app);
  const token = await latestToken(ctx, owner.email);
  await sql`update email_verifications set expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  const expired = await confirm(ctx.app, token);
  t.equal(expired.statusCode, 410);
  t.match(expired.json(), { code: 'token_expired', detail: /expired/ });
  const me = (await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: owner.cookie } })).json();
  t.equal(me.account.emailVerified, false);
});

t.test('EMAIL_VERIFICATION_TTL_SECONDS sets how long a token lives', async (t) => {
  const ctx = await testContext(t, { env: { EMAIL_VERIFICATION_TTL_SECONDS: '3600' } });
  await signUp(ctx.app);
  const row = await ctx.runtime.db.selectFrom('email_verifications').select(['created_at', 'expires_at']).executeTakeFirstOrThrow();
  const seconds = (row.expires_at.getTime() - row.created_at.getTime()) / 1000;
  t.ok(Math.abs(seconds - 3600) < 5, `about 3600 s, got ${seconds}`);
});

t.test('ten simultaneous confirms of one token: exactly one 200', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const token = await latestToken(ctx, owner.email);
  const responses = await concurrently(10, () => confirm(ctx.app, token));
  t.same(statusCounts(responses), { 200: 1, 400: 9 });
  const started = await ctx.runtime.db.selectFrom('audit_events').select('id').where('action', '=', 'trial.started').execute();
  t.equal(started.length, 1, 'the trial started once');
});

t.test('resend: signed in only, refused when verified or too soon, and it supersedes older links', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '60' } });
  const owner = await signUp(ctx.app);
  const first = await latestToken(ctx, owner.email);

  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/resend' })).statusCode, 401, 'signed out');

  const tooSoon = await resend(ctx.app, owner.cookie);
  t.equal(tooSoon.statusCode, 429);
  t.match(tooSoon.json(), { code: 'resend_too_soon' });
  const retryAfter = Number(tooSoon.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After within the cooldown, got ${retryAfter}`);

  await sql`update email_verifications set created_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  const accepted = await resend(ctx.app, owner.cookie);
  t.equal(accepted.statusCode, 202);
  const second = await latestToken(ctx, owner.email);
  t.not(second, first);
  t.equal(ctx.smtp.to(owner.email).length, 2);

  t.match((await confirm(ctx.app, first)).json(), { code: 'invalid_token' }, 'the older link stopped working');
  t.equal((await confirm(ctx.app, second)).statusCode, 200);

  const verified = await resend(ctx.app, owner.cookie);
  t.equal(verified.statusCode, 409);
  t.match(verified.json(), { code: 'already_verified' });
});

t.test('a queued, unsent verification email is replaced by the newer one, not sent twice', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '0' } });
  const owner = await signUp(ctx.app);
  t.equal((await resend(ctx.app, owner.cookie)).statusCode, 202, 'before the worker ran');
  const jobs = await sql`select 1 from graphile_worker.jobs where task_identifier = 'send_verification_email'`.execute(ctx.runtime.db);
  t.equal(jobs.rows.length, 1, 'one queued email job');
  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 1, 'one email');
  t.equal((await confirm(ctx.app, tokenFrom(ctx.smtp.to(owner.email)[0]!))).statusCode, 200, 'and its link works');
});

t.test('simultaneous resends respect the cooldown between them', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '60' } });
  const owner = await signUp(ctx.app);
  await sql`update email_verifications set created_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  const responses = await concurrently(5, () => resend(ctx.app, owner.cookie));
  t.same(statusCounts(responses), { 202: 1, 429: 4 });
});
