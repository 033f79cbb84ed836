import { sql } from 'kysely';
import t from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { latestToken, signUp, signUpVerified, uniqueEmail } from '../helpers/factories.js';
import { inputTag, openPage } from '../helpers/page-forms.js';
import { tokenFrom } from '../helpers/smtp.js';

// Resend's cooldown off: the registration email would otherwise hold back the new link for a minute.
const env = { RESEND_COOLDOWN_SECONDS: '0' };

const request = (ctx: TestContext, email: unknown, remoteAddress = '198.51.100.7') =>
  ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/requests', payload: { email }, remoteAddress });

const queuedJobs = async (ctx: TestContext) =>
  Number((await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where task_identifier = 'send_new_verification_link'`.execute(ctx.runtime.db)).rows[0]!.n);

t.test('POST /v1/email-verifications/requests: the same 202 for any address; only an unconfirmed account gets a new link', async (t) => {
  const ctx = await testContext(t, { env });
  const unverified = await signUp(ctx.app);
  const verified = await signUpVerified(ctx);
  const oldToken = await latestToken(ctx, unverified.email);
  const sentBefore = ctx.smtp.messages.length;
  const unknown = uniqueEmail('nobody');

  const answers = [];
  for (const email of [unknown, verified.email, unverified.email.toUpperCase()]) {
    const answer = await request(ctx, email);
    answers.push({ status: answer.statusCode, body: answer.body });
    t.equal(await queuedJobs(ctx), 1, `${email}: the look-up is queued as a job, the same work for every address`);
    await ctx.runJobs();
    await ctx.runJobs();
  }
  t.same(answers, [0, 1, 2].map(() => ({ status: 202, body: '{"status":"accepted"}' })), 'the answers are identical whatever the address');
  t.equal(ctx.smtp.to(unknown).length, 0, 'nothing to an address without an account');
  t.equal(ctx.smtp.to(verified.email).length, 1, 'nothing more to a confirmed address (its one email is the first one)');
  t.equal(ctx.smtp.messages.length, sentBefore + 1, 'exactly one email went out');
  const mail = ctx.smtp.to(unverified.email).at(-1)!;
  t.equal(mail.subject, 'Confirm your email address');
  const token = tokenFrom(mail);
  t.not(token, oldToken, 'a new link');
  const stale = await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token: oldToken } });
  t.equal(stale.statusCode, 400, 'the older link stopped working');
  const confirmed = await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } });
  t.equal(confirmed.statusCode, 200, 'the new link confirms');
});

t.test('new-link requests are limited per IP and per address', async (t) => {
  const ctx = await testContext(t, { env: { ...env, RATE_LIMIT_RESENDS_PER_MINUTE: '3' } });
  const target = uniqueEmail('target');
  for (let i = 1; i <= 3; i++) t.equal((await request(ctx, target, `198.51.100.${i}`)).statusCode, 202, `request ${i} for one address, from its own IP`);
  const perAddress = await request(ctx, target, '198.51.100.99');
  t.equal(perAddress.statusCode, 429, 'a fourth request for the address is refused, whatever the IP');
  t.equal(perAddress.json().code, 'rate_limited');
  t.ok(Number(perAddress.headers['retry-after']) > 0, 'with Retry-After');

  for (let i = 1; i <= 2; i++) t.equal((await request(ctx, uniqueEmail('other'), '203.0.113.5')).statusCode, 202);
  t.equal((await request(ctx, uniqueEmail('other'), '203.0.113.5')).statusCode, 202, 'the third from one IP');
  t.equal((await request(ctx, uniqueEmail('other'), '203.0.113.5')).statusCode, 429, 'a fourth from the same IP is refused, whatever the address');
});

t.test('a malformed or over-long address is a 400 naming the field', async (t) => {
  const ctx = await testContext(t, { env });
  for (const email of ['not-an-email', `${'a'.repeat(300)}@example.com`, '']) {
    const answer = await request(ctx, email);
    t.equal(answer.statusCode, 400);
    t.equal(answer.json().errors[0].field, 'email');
  }
  t.equal(await queuedJobs(ctx), 0, 'nothing queued');
});

t.test('/verify-email signed out: "Email me a new link" by address, the same neutral page for any address', async (t) => {
  const ctx = await testContext(t, { env });
  const unverified = await signUp(ctx.app);
  const verified = await signUpVerified(ctx);
  await latestToken(ctx, unverified.email);
  const sentBefore = ctx.smtp.messages.length;

  const page = await openPage(ctx.app, '/verify-email');
  const input = inputTag(page.response.body, 'email')!;
  t.ok(input, 'the incomplete-link page offers the form');
  t.match(input, 'type="email"');
  t.match(input, 'maxlength="254"');
  t.match(input, ' required');

  const bodies = [];
  for (const email of [uniqueEmail('nobody'), verified.email, unverified.email]) {
    const answer = await page.post('/verify-email/request', { email });
    t.equal(answer.statusCode, 202);
    t.match(answer.body, "If an unconfirmed account uses");
    bodies.push(answer.body.replace(email, 'ADDRESS').replace(/name="_csrf" value="[^"]+"/g, ''));
    await ctx.runJobs();
    await ctx.runJobs();
  }
  t.equal(new Set(bodies).size, 1, 'the page is the same for an unknown, a confirmed and an unconfirmed address');
  t.equal(ctx.smtp.messages.length, sentBefore + 1, 'one email, to the unconfirmed address');
  const token = tokenFrom(ctx.smtp.to(unverified.email).at(-1)!);
  const confirm = await openPage(ctx.app, `/verify-email?token=${token}`);
  t.equal((await confirm.post('/verify-email', { token })).statusCode, 200, 'the new link confirms on the page');
});

t.test('/verify-email/request: a bad address comes back as the form with the error tied to the field; no CSRF token is a 403', async (t) => {
  const ctx = await testContext(t, { env });
  const page = await openPage(ctx.app, '/verify-email');
  for (const email of ['not-an-email', `${'a'.repeat(10_000)}@example.com`]) {
    const answer = await page.post('/verify-email/request', { email });
    t.equal(answer.statusCode, 400);
    t.match(answer.headers['content-type'], 'text/html');
    const input = inputTag(answer.body, 'email')!;
    t.match(input, 'aria-invalid="true"', 'the field is marked invalid');
    t.match(input, /aria-describedby="[^"]*field-email-error/, 'and its error is tied to it');
    t.match(answer.body, /id="field-email-error">This field must be (an email address|at most 254 characters long)\./);
  }
  t.equal(await queuedJobs(ctx), 0, 'nothing queued');

  const forged = await page.post('/verify-email/request', { email: 'ada@example.com', _csrf: 'forged' });
  t.equal(forged.statusCode, 403);
  const missing = await ctx.app.inject({
    method: 'POST',
    url: '/verify-email/request',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: page.cookie },
    payload: 'email=ada%40example.com',
  });
  t.equal(missing.statusCode, 403, 'a form without its CSRF token is refused');
  t.match(missing.body, 'reload the page');
  t.equal(await queuedJobs(ctx), 0, 'still nothing queued');
});

t.test('/verify-email/request: the rate limit answers with a page and Retry-After', async (t) => {
  const ctx = await testContext(t, { env: { ...env, RATE_LIMIT_RESENDS_PER_MINUTE: '2' } });
  const page = await openPage(ctx.app, '/verify-email');
  const email = uniqueEmail('busy');
  t.equal((await page.post('/verify-email/request', { email })).statusCode, 202);
  t.equal((await page.post('/verify-email/request', { email })).statusCode, 202);
  const limited = await page.post('/verify-email/request', { email });
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['content-type'], 'text/html');
  t.ok(Number(limited.headers['retry-after']) > 0);
  t.match(limited.body, 'Too many requests');
});
