import { sql } from 'kysely';
import t from 'tap';
import { hashToken } from '../../src/services/tokens.js';
import { testContext } from '../helpers/app.js';
import { PASSWORD, sessionCookie, signUp, uniqueEmail } from '../helpers/factories.js';

const signIn = (app: Parameters<typeof signUp>[0], email: string, password: string, cookie?: string) =>
  app.inject({ method: 'POST', url: '/v1/sessions', payload: { email, password }, headers: cookie ? { cookie } : {} });
const me = (app: Parameters<typeof signUp>[0], cookie: string) => app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } });

t.test('sign in sets a fresh HttpOnly cookie; sign out ends the session and clears it', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const response = await signIn(ctx.app, owner.email.toUpperCase(), PASSWORD);
  t.equal(response.statusCode, 200);
  t.same(response.json(), { accountId: owner.accountId });
  const cookie = response.cookies.find((c) => c.name === 'sid')!;
  t.ok(cookie.httpOnly);
  t.equal(cookie.sameSite, 'Lax');
  t.equal(cookie.path, '/');
  const days = (new Date(cookie.expires!).getTime() - Date.now()) / 86_400_000;
  t.ok(days > 29.9 && days <= 30, `30 days, got ${days}`);
  t.not(sessionCookie(response), owner.cookie, 'a new session id');
  const stored = await ctx.runtime.db.selectFrom('sessions').select('token_hash').execute();
  t.ok(stored.some((s) => s.token_hash.equals(hashToken(cookie.value))), 'stored only as its hash');

  const out = await ctx.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { cookie: sessionCookie(response) } });
  t.equal(out.statusCode, 204);
  const cleared = out.cookies.find((c) => c.name === 'sid')!;
  t.equal(cleared.value, '');
  t.ok(new Date(cleared.expires!).getTime() <= Date.now(), 'the cookie expires now');
  t.equal((await me(ctx.app, sessionCookie(response))).statusCode, 401, 'the session is gone');
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 200, 'other sessions live on');
});

t.test('signing in rotates the session: the cookie sent along stops working', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const response = await signIn(ctx.app, owner.email, PASSWORD, owner.cookie);
  t.equal(response.statusCode, 200);
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 401);
  t.equal((await me(ctx.app, sessionCookie(response))).statusCode, 200);
});

t.test('a wrong password and an unknown email answer the same 401', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const wrong = await signIn(ctx.app, owner.email, 'not the password');
  const unknown = await signIn(ctx.app, uniqueEmail('nobody'), PASSWORD);
  t.equal(wrong.statusCode, 401);
  t.equal(unknown.statusCode, 401);
  t.same(wrong.json(), unknown.json());
  t.match(wrong.json(), { code: 'invalid_credentials' });
  t.notOk(wrong.cookies.find((c) => c.name === 'sid'), 'no cookie');
});

t.test('GET /v1/me: the account with every workspace and role; 401 without or with a bad session', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app, { name: 'Ada', workspaceName: 'Acme' });
  const response = await me(ctx.app, owner.cookie);
  t.equal(response.statusCode, 200);
  t.match(response.json(), {
    account: { id: owner.accountId, email: owner.email, name: 'Ada', emailVerified: false },
    workspaces: [{ id: owner.workspaceId, name: 'Acme', role: 'owner', plan: 'trial', trialEndsAt: null, trialState: 'pending_verification' }],
  });
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/me' })).statusCode, 401);
  const forged = await me(ctx.app, 'sid=forged-token');
  t.equal(forged.statusCode, 401);
  t.match(forged.json(), { code: 'unauthenticated' });
  await sql`update sessions set expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 401, 'an expired session');
});

t.test('sessions slide: a request late in the session extends it and re-sends the cookie', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const fresh = await me(ctx.app, owner.cookie);
  t.notOk(fresh.cookies.find((c) => c.name === 'sid'), 'a fresh session is not rewritten on every request');

  await sql`update sessions set expires_at = now() + interval '2 days'`.execute(ctx.runtime.db);
  const late = await me(ctx.app, owner.cookie);
  t.equal(late.statusCode, 200);
  const renewed = late.cookies.find((c) => c.name === 'sid');
  t.ok(renewed, 'cookie sent again');
  t.equal(`sid=${renewed!.value}`, owner.cookie, 'same session id');
  const row = await ctx.runtime.db.selectFrom('sessions').select('expires_at').executeTakeFirstOrThrow();
  const days = (row.expires_at.getTime() - Date.now()) / 86_400_000;
  t.ok(days > 29.9, `extended to 30 days, got ${days}`);
});

t.test('the cookie is Secure when APP_BASE_URL is https', async (t) => {
  const ctx = await testContext(t, { env: { APP_BASE_URL: 'https://app.example.com' } });
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/v1/registrations',
    payload: { email: uniqueEmail(), password: PASSWORD, name: 'Ada', workspaceName: 'Acme' },
  });
  t.equal(response.cookies.find((c) => c.name === 'sid')!.secure, true);
});

t.test('with the session cache on, signing out ends the session in every instance at once', async (t) => {
  const ctx = await testContext(t, { env: { SESSION_CACHE_SECONDS: '3600' } });
  const other = await ctx.secondInstance();
  const owner = await signUp(ctx.app);
  t.equal((await me(other.app, owner.cookie)).statusCode, 200, 'the other instance checked and remembered the session');

  // Behind the service's back the row goes, yet the instance keeps trusting what it checked: a cache.
  const rows = await ctx.runtime.db.selectFrom('sessions').selectAll().execute();
  await ctx.runtime.db.deleteFrom('sessions').execute();
  t.equal((await me(other.app, owner.cookie)).statusCode, 200, 'served from the cache');
  await ctx.runtime.db.insertInto('sessions').values(rows.map(({ id: _id, ...row }) => row)).execute();

  const out = await ctx.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { cookie: owner.cookie } });
  t.equal(out.statusCode, 204);
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 401, 'this instance forgets at once');
  let status = 200;
  for (let i = 0; i < 100 && status === 200; i++) {
    status = (await me(other.app, owner.cookie)).statusCode;
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(status, 401, 'the other instance heard of the sign-out long before its 1-hour cache expiry');
});

t.test('when the LISTEN connection drops, cached sessions are forgotten, and listening resumes', async (t) => {
  const ctx = await testContext(t, { env: { SESSION_CACHE_SECONDS: '3600' } });
  const other = await ctx.secondInstance();
  const listeners = async () =>
    (await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and query ilike 'listen %'`.execute(ctx.runtime.db)).rows;
  const until = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  };
  const owner = await signUp(ctx.app);
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 200, 'checked and remembered');
  await ctx.runtime.db.deleteFrom('sessions').execute();
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 200, 'served from the cache');

  // Notifications sent while the connection is down are lost, so nothing cached may be trusted after it.
  const dropped = await listeners();
  t.equal(dropped.length, 2, 'one listener per instance');
  await sql`select pg_terminate_backend(pid) from pg_stat_activity where pid = any(${dropped.map((row) => row.pid)})`.execute(ctx.runtime.db);
  await until(async () => (await listeners()).length === 0);
  await new Promise((resolve) => setTimeout(resolve, 100)); // the instance reads its connection's end
  t.equal((await me(ctx.app, owner.cookie)).statusCode, 401, 'the dropped connection emptied the cache');

  await until(async () => (await listeners()).length === 2);
  t.equal((await listeners()).length, 2, 'both instances listen again');
  const signIn = await ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email: owner.email, password: PASSWORD } });
  const cookie = sessionCookie(signIn);
  t.equal((await me(ctx.app, cookie)).statusCode, 200);
  t.equal((await other.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { cookie } })).statusCode, 204);
  let status = 200;
  await until(async () => (status = (await me(ctx.app, cookie)).statusCode) === 401);
  t.equal(status, 401, 'a sign-out on the other instance reaches this one again');
});
