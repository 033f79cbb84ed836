import pino from 'pino';
import { sql } from 'kysely';
import t from 'tap';
import { buildServer } from '../../src/http/server.js';
import { createRuntime } from '../../src/runtime.js';
import { hashToken } from '../../src/services/tokens.js';
import type { App } from '../../src/http/types.js';
import { testContext } from '../helpers/app.js';
import { AdminBrowser } from '../helpers/admin-pages.js';

t.test('signing out ends the server-side session: a copy of the old cookie no longer opens /admin', async (t) => {
  const ctx = await testContext(t);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const copied = admin.cookie();
  t.equal((await admin.get('/admin')).statusCode, 200, 'signed in');

  const signedOut = await admin.post('/admin/sign-out', (await admin.get('/admin')).body, {});
  t.equal(signedOut.statusCode, 303);
  t.match(signedOut.headers['set-cookie'], /admin_page=;/, 'the cookie is cleared');
  const replayed = await ctx.app.inject({ method: 'GET', url: '/admin', headers: { cookie: copied } });
  t.equal(replayed.statusCode, 401, 'the copied cookie is refused');
  t.match(replayed.body, 'Admin sign-in');
  t.equal((await ctx.runtime.db.selectFrom('admin_page_sessions').select('id').execute()).length, 0, 'the session row is gone');
});

t.test('the cookie holds a random token stored only as its SHA-256, with the actor', async (t) => {
  const ctx = await testContext(t);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const token = admin.value('admin_page')!;
  t.ok(token.length >= 43, 'a 256-bit token');
  const rows = await sql<{ token_hash: Buffer; actor: string; row: string; ttl: number }>`
    select token_hash, actor, row_to_json(s)::text as row, extract(epoch from expires_at - created_at)::int as ttl from admin_page_sessions s`.execute(ctx.runtime.db);
  t.equal(rows.rows.length, 1);
  const [row] = rows.rows;
  t.ok(row!.token_hash.equals(hashToken(token)), 'the SHA-256 of the token');
  t.notMatch(row!.row, token, 'the token itself is nowhere in the row');
  t.notMatch(row!.row, ctx.config.adminToken!, 'nor is the admin token');
  t.equal(row!.actor, 'Olivia Ops');
  t.equal(row!.ttl, 8 * 3600, 'eight hours');
});

t.test('an expired page session is refused', async (t) => {
  const ctx = await testContext(t);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  t.equal((await admin.get('/admin')).statusCode, 200);
  await sql`update admin_page_sessions set expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  const refused = await admin.get('/admin');
  t.equal(refused.statusCode, 401);
  t.match(refused.body, 'Admin sign-in');
});

t.test('rotating ADMIN_TOKEN ends every page session opened with the old one', async (t) => {
  const ctx = await testContext(t);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const rotated = { ...ctx.config, adminToken: 'rotated-admin-token-0123456789abcdef0123' };
  const logger = pino({ level: 'silent' });
  const runtime = await createRuntime(rotated, logger);
  const restarted: App = await buildServer({ config: rotated, services: runtime.services, logger, metrics: runtime.metrics });
  t.teardown(async () => {
    await restarted.close();
    await runtime.close();
  });

  t.equal((await admin.get('/admin')).statusCode, 200, 'the old instance, still on the old token, accepts it');
  const refused = await restarted.inject({ method: 'GET', url: '/admin', headers: { cookie: admin.cookie() } });
  t.equal(refused.statusCode, 401, 'the instance on the new token refuses it');
  const fresh = await AdminBrowser.signIn(restarted, rotated.adminToken);
  t.equal((await fresh.get('/admin')).statusCode, 200, 'signing in with the new token works');
});

t.test('with an https APP_BASE_URL the admin page cookie and the CSRF cookie are Secure; on http they are not', async (t) => {
  for (const [base, secure] of [['https://onboarding.example.com', true], ['http://127.0.0.1:3000', false]] as const) {
    const ctx = await testContext(t, { env: { APP_BASE_URL: base } });
    const form = await ctx.app.inject({ method: 'GET', url: '/admin' });
    const csrf = form.cookies.find((c) => c.name === 'csrf');
    t.equal(Boolean(csrf?.secure), secure, `${base}: the CSRF cookie`);
    const signedIn = await ctx.app.inject({
      method: 'POST',
      url: '/admin/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `csrf=${csrf!.value}` },
      payload: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!, actor: 'Olivia Ops', token: ctx.config.adminToken! }).toString(),
    });
    t.equal(signedIn.statusCode, 303, `${base}: signed in`);
    const cookie = signedIn.cookies.find((c) => c.name === 'admin_page')!;
    t.equal(Boolean(cookie.secure), secure, `${base}: the admin page cookie`);
    t.equal(cookie.httpOnly, true);
    t.equal(cookie.sameSite, 'Strict');
    t.equal(cookie.path, '/admin');
    t.ok(cookie.expires && cookie.expires.getTime() <= Date.now() + 8 * 3_600_000 + 5_000, 'expires within 8 hours');
  }
});
