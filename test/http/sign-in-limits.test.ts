import { sql } from 'kysely';
import t from 'tap';
import type { App } from '../../src/http/types.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { concurrently, PASSWORD, signUp, statusCounts, uniqueEmail } from '../helpers/factories.js';

const WRONG = 'not the password';

/** POST /v1/sessions from `remoteAddress`, with an optional X-Forwarded-For. */
function signIn(app: App, email: string, password: string, from: { remoteAddress?: string; forwardedFor?: string } = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/sessions',
    remoteAddress: from.remoteAddress ?? '127.0.0.1',
    headers: from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {},
    payload: { email, password },
  });
}

/** A client address no other request in the test uses. */
let nextHost = 1;
const freshIp = () => `198.51.100.${nextHost++}`;

/** Ends every running sign-in window in the database, as if the hour had passed. */
const endWindows = (ctx: TestContext) =>
  sql`update rate_limits set window_ends_at = now() - interval '1 second' where key like 'sign-in-%'`.execute(ctx.runtime.db);

const lockoutMails = (ctx: TestContext, email: string) => ctx.smtp.to(email).filter((mail) => mail.subject === 'Sign-in to your account is paused');

t.test('sign-ins per IP across addresses: one client trying many addresses meets a 429', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNINS_PER_IP_PER_MINUTE: '5' } });
  for (let i = 0; i < 5; i++) t.equal((await signIn(ctx.app, uniqueEmail(), WRONG)).statusCode, 401, `address ${i + 1}`);
  const limited = await signIn(ctx.app, uniqueEmail(), WRONG);
  t.equal(limited.statusCode, 429, 'a sixth address from the same IP');
  t.match(limited.json(), { code: 'rate_limited' });
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60);
  t.equal((await signIn(ctx.app, uniqueEmail(), WRONG, { remoteAddress: freshIp() })).statusCode, 401, 'another IP has its own budget');
});

t.test('behind one trusted proxy hop, the address is the entry the proxy appended: varying the rest changes nothing', async (t) => {
  const ctx = await testContext(t, { env: { TRUST_PROXY: '1', RATE_LIMIT_SIGNINS_PER_MINUTE: '3' } });
  const owner = await signUp(ctx.app);
  const viaProxy = (client: string, i: number) => ({ remoteAddress: '10.0.0.2', forwardedFor: `203.0.${i}.${i}, ${client}` });
  const attempts = [];
  for (let i = 0; i < 6; i++) attempts.push((await signIn(ctx.app, owner.email, WRONG, viaProxy('192.0.2.10', i))).statusCode);
  t.same(attempts, [401, 401, 401, 429, 429, 429], 'a forged leftmost entry does not buy new guesses');
  t.equal((await signIn(ctx.app, owner.email, WRONG, viaProxy('192.0.2.11', 0))).statusCode, 401, 'another client behind the same proxy');
});

t.test('behind proxies given by address, the rightmost untrusted entry is the client', async (t) => {
  const ctx = await testContext(t, { env: { TRUST_PROXY: '10.0.0.0/8', RATE_LIMIT_SIGNINS_PER_IP_PER_MINUTE: '2' } });
  const from = (i: number) => ({ remoteAddress: '10.0.0.2', forwardedFor: `203.0.113.${i}, 192.0.2.20, 10.1.1.1` });
  t.equal((await signIn(ctx.app, uniqueEmail(), WRONG, from(1))).statusCode, 401);
  t.equal((await signIn(ctx.app, uniqueEmail(), WRONG, from(2))).statusCode, 401);
  t.equal((await signIn(ctx.app, uniqueEmail(), WRONG, from(3))).statusCode, 429, 'the client is 192.0.2.20 every time');
  const direct = await signIn(ctx.app, uniqueEmail(), WRONG, { remoteAddress: '192.0.2.20', forwardedFor: '203.0.113.99' });
  t.equal(direct.statusCode, 429, 'connecting directly, a client cannot claim another address');
});

t.test('without a trusted proxy, X-Forwarded-For is ignored', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNINS_PER_MINUTE: '3' } });
  const owner = await signUp(ctx.app);
  const attempts = [];
  for (let i = 0; i < 5; i++) attempts.push((await signIn(ctx.app, owner.email, WRONG, { forwardedFor: `203.0.113.${i}` })).statusCode);
  t.same(attempts, [401, 401, 401, 429, 429]);
});

t.test('an IPv6 client is one client across its /64, for both per-IP limits', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNINS_PER_MINUTE: '2', RATE_LIMIT_SIGNINS_PER_IP_PER_MINUTE: '4' } });
  const owner = await signUp(ctx.app);
  const sameAddress = [];
  for (let i = 1; i <= 3; i++) sameAddress.push((await signIn(ctx.app, owner.email, WRONG, { remoteAddress: `2001:db8:0:1::${i}` })).statusCode);
  t.same(sameAddress, [401, 401, 429], 'one address from three hosts of a /64');
  const manyAddresses = [];
  for (let i = 4; i <= 5; i++) manyAddresses.push((await signIn(ctx.app, uniqueEmail(), WRONG, { remoteAddress: `2001:db8:0:1::${i}` })).statusCode);
  t.same(manyAddresses, [401, 429], 'the fourth and fifth sign-ins from the /64');
  t.equal((await signIn(ctx.app, owner.email, WRONG, { remoteAddress: '2001:db8:0:2::1' })).statusCode, 401, 'the next /64 is another client');
});

t.test('failed sign-ins per address from any IP, counted across two instances: the address locks, even for the right password', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '3' } });
  const other = await ctx.secondInstance();
  const owner = await signUp(ctx.app);
  t.equal((await signIn(ctx.app, owner.email, WRONG, { remoteAddress: freshIp() })).statusCode, 401);
  t.equal((await signIn(other.app, owner.email.toUpperCase(), WRONG, { remoteAddress: freshIp() })).statusCode, 401, 'case does not make a new address');
  t.equal((await signIn(ctx.app, owner.email, WRONG, { remoteAddress: freshIp() })).statusCode, 401);
  const locked = await signIn(other.app, owner.email, PASSWORD, { remoteAddress: freshIp() });
  t.equal(locked.statusCode, 429, 'the right password, from a new IP, on the other instance');
  t.match(locked.headers['content-type'], /^application\/problem\+json/);
  t.match(locked.json(), { code: 'sign_in_locked', status: 429 });
  const retryAfter = Number(locked.headers['retry-after']);
  t.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After is the rest of the hour, got ${retryAfter}`);
  t.notOk(locked.cookies.some((c) => c.name === 'sid'), 'no session');
  t.equal((await signIn(ctx.app, uniqueEmail(), WRONG, { remoteAddress: freshIp() })).statusCode, 401, 'other addresses are not locked');
});

t.test('the owner gets one email per lock and admins an audit event, both written with the count that crossed the limit', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '2' } });
  const owner = await signUp(ctx.app);
  await ctx.runJobs();
  for (let i = 0; i < 2; i++) await signIn(ctx.app, owner.email, WRONG, { remoteAddress: freshIp() });
  const queued = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'send_sign_in_locked_email'`.execute(ctx.runtime.db);
  t.equal(queued.rows[0]!.n, 1, 'queued by the second failure');
  for (let i = 0; i < 5; i++) t.equal((await signIn(ctx.app, owner.email, WRONG, { remoteAddress: freshIp() })).statusCode, 429);
  await ctx.runJobs();
  await ctx.runJobs();
  const mails = lockoutMails(ctx, owner.email);
  t.equal(mails.length, 1, 'one email, however many attempts followed');
  t.match(mails[0]!.text, /wrong password for your account 2 times within an hour/);
  t.match(mails[0]!.text, /paused until \w{3}, \d{2} \w{3} \d{4}/);
  const audit = await ctx.app.inject({
    method: 'GET',
    url: `/v1/admin/audit-events?action=account.sign_in_locked&accountId=${owner.accountId}`,
    headers: { authorization: `Bearer ${ctx.config.adminToken}` },
  });
  t.match(audit.json().items, [{ actorType: 'system', accountId: owner.accountId, data: { failures: 2, lockedUntil: String } }], 'one audit event for admins');
  t.equal(audit.json().items.length, 1);
});

t.test('the lock lifts when the window ends; a new lock in a new window sends a new email', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '2' } });
  const owner = await signUp(ctx.app);
  for (let i = 0; i < 2; i++) await signIn(ctx.app, owner.email, WRONG);
  t.equal((await signIn(ctx.app, owner.email, PASSWORD)).statusCode, 429, 'locked');
  await ctx.runJobs();
  await endWindows(ctx);
  const open = await signIn(ctx.app, owner.email, PASSWORD);
  t.equal(open.statusCode, 200, 'the right password works once the hour is over');
  t.ok(open.cookies.some((c) => c.name === 'sid'));
  for (let i = 0; i < 2; i++) t.equal((await signIn(ctx.app, owner.email, WRONG)).statusCode, 401, 'a new window counts from zero');
  t.equal((await signIn(ctx.app, owner.email, PASSWORD)).statusCode, 429);
  await ctx.runJobs();
  t.equal(lockoutMails(ctx, owner.email).length, 2, 'one email for each lock');
});

t.test('a right password does not use up the budget; wrong ones still lock', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '2' } });
  const owner = await signUp(ctx.app);
  t.equal((await signIn(ctx.app, owner.email, WRONG)).statusCode, 401);
  for (let i = 0; i < 3; i++) t.equal((await signIn(ctx.app, owner.email, PASSWORD)).statusCode, 200, `the owner signs in (${i + 1})`);
  t.equal((await signIn(ctx.app, owner.email, WRONG)).statusCode, 401, 'the second failure');
  t.equal((await signIn(ctx.app, owner.email, PASSWORD)).statusCode, 429);
});

t.test('a burst of concurrent guesses gets no more than the limit through, across instances', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '5' } });
  const other = await ctx.secondInstance();
  const owner = await signUp(ctx.app);
  const responses = await concurrently(30, (i) => signIn(i % 2 ? other.app : ctx.app, owner.email, WRONG, { remoteAddress: `192.0.2.${i + 1}` }));
  t.same(statusCounts(responses), { 401: 5, 429: 25 }, 'five passwords checked, not thirty');
  await ctx.runJobs();
  t.equal(lockoutMails(ctx, owner.email).length, 1);
});

t.test('an unknown address locks like a known one, and nobody is emailed', async (t) => {
  const ctx = await testContext(t, { env: { SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR: '2' } });
  const email = uniqueEmail('nobody');
  t.equal((await signIn(ctx.app, email, WRONG)).statusCode, 401);
  t.equal((await signIn(ctx.app, email, WRONG)).statusCode, 401);
  t.match((await signIn(ctx.app, email, WRONG)).json(), { code: 'sign_in_locked' });
  await ctx.runJobs();
  t.equal(ctx.smtp.to(email).length, 0);
});

t.test('registrations per IP hold behind a trusted proxy, whatever X-Forwarded-For claims', async (t) => {
  const ctx = await testContext(t, { env: { TRUST_PROXY: '1', RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '2' } });
  const via = (i: number) => ({ 'x-forwarded-for': `203.0.113.${i}, 192.0.2.30` });
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await ctx.app.inject({ method: 'POST', url: '/v1/registrations', remoteAddress: '10.0.0.2', headers: via(i), payload: { email: uniqueEmail(), password: PASSWORD, name: 'A', workspaceName: 'B' } })).statusCode);
  }
  t.same(statuses, [201, 201, 429]);
});

t.test('verification resends per IP across accounts', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_RESENDS_PER_MINUTE: '2', RESEND_COOLDOWN_SECONDS: '0' } });
  const owners = [await signUp(ctx.app), await signUp(ctx.app), await signUp(ctx.app)];
  const resend = (cookie: string, remoteAddress = '127.0.0.1') =>
    ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/resend', remoteAddress, headers: { cookie } });
  t.equal((await resend(owners[0]!.cookie)).statusCode, 202);
  t.equal((await resend(owners[1]!.cookie)).statusCode, 202);
  const limited = await resend(owners[2]!.cookie);
  t.equal(limited.statusCode, 429);
  t.match(limited.json(), { code: 'rate_limited' });
  t.equal((await resend(owners[2]!.cookie, freshIp())).statusCode, 202, 'another IP has its own budget');
});

t.test('sign-up codes per IP across flows: one client cannot mail a code to address after address', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNUP_CODES_PER_MINUTE: '2' } });
  const startFlow = async () => {
    const started = await ctx.app.inject({ method: 'POST', url: '/v1/signup-flows', payload: {} });
    t.equal(started.statusCode, 201);
    return started.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  };
  const setEmail = async (cookie: string, remoteAddress = '127.0.0.1') =>
    ctx.app.inject({ method: 'PUT', url: '/v1/signup-flows/current/email', remoteAddress, headers: { cookie }, payload: { email: uniqueEmail() } });
  const flows = [await startFlow(), await startFlow(), await startFlow()];
  t.equal((await setEmail(flows[0]!)).statusCode, 202);
  t.equal((await setEmail(flows[1]!)).statusCode, 202);
  const limited = await setEmail(flows[2]!);
  t.equal(limited.statusCode, 429, 'a third address from the same IP within the minute');
  t.match(limited.json(), { code: 'rate_limited' });
  t.ok(Number(limited.headers['retry-after']) > 0);
  t.equal((await setEmail(flows[2]!, freshIp())).statusCode, 202, 'another IP has its own budget');
  await ctx.runJobs();
  t.equal(ctx.smtp.messages.length, 3, 'the refused request mailed nothing');
});
