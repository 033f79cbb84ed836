import t from 'tap';
import { testContext } from '../helpers/app.js';
import { concurrently, PASSWORD, register, signUp, statusCounts, uniqueEmail } from '../helpers/factories.js';

t.test('registrations per IP: the limit holds across two instances sharing the database', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '3' } });
  const other = await ctx.secondInstance();
  t.equal((await register(ctx.app)).statusCode, 201);
  t.equal((await register(other.app)).statusCode, 201);
  t.equal((await register(ctx.app)).statusCode, 201);
  const limited = await register(other.app);
  t.equal(limited.statusCode, 429, 'the fourth, on the other instance');
  t.match(limited.headers['content-type'], /^application\/problem\+json/);
  t.match(limited.json(), { code: 'rate_limited' });
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After within the minute, got ${retryAfter}`);
  const fromElsewhere = await ctx.app.inject({
    method: 'POST',
    url: '/v1/registrations',
    remoteAddress: '10.1.2.3',
    payload: { email: uniqueEmail(), password: PASSWORD, name: 'A', workspaceName: 'B' },
  });
  t.equal(fromElsewhere.statusCode, 201, 'another IP has its own budget');
});

t.test('sign-ins per IP and email', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_SIGNINS_PER_MINUTE: '2' } });
  const owner = await signUp(ctx.app);
  const signIn = (email: string) => ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email, password: 'wrong password' } });
  t.equal((await signIn(owner.email)).statusCode, 401);
  t.equal((await signIn(owner.email)).statusCode, 401);
  t.equal((await signIn(owner.email)).statusCode, 429, 'third try for this email');
  t.equal((await signIn(uniqueEmail())).statusCode, 401, 'another email is not limited');
});

t.test('confirms per IP', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_CONFIRMS_PER_MINUTE: '2' } });
  const confirm = () => ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token: 'guess' } });
  t.equal((await confirm()).statusCode, 400);
  t.equal((await confirm()).statusCode, 400);
  t.equal((await confirm()).statusCode, 429);
});

t.test('hits batched together still count exactly: 30 at once against a limit of 10 let 10 through', async (t) => {
  const ctx = await testContext(t, { env: { RATE_LIMIT_CONFIRMS_PER_MINUTE: '10' } });
  const other = await ctx.secondInstance();
  const responses = await concurrently(30, (i) =>
    (i % 2 ? other.app : ctx.app).inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token: `guess-${i}` } }),
  );
  t.same(statusCounts(responses), { 400: 10, 429: 20 });
});
