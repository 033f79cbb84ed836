import { sql } from 'kysely';
import t from 'tap';
import { redactUrl } from '../../src/http/server.js';
import { checkPage, launchChromium, liveService, newContext } from '../helpers/browser.js';
import { signUp } from '../helpers/factories.js';
import { testContext } from '../helpers/app.js';

t.setTimeout(240_000);

/** The verification link exactly as the newest email to `email` carries it. */
async function emailedLink(ctx: Awaited<ReturnType<typeof liveService>>, email: string): Promise<string> {
  await ctx.runJobs();
  const mail = ctx.smtp.to(email).at(-1);
  const link = /https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]+/.exec(mail?.text ?? '')?.[0];
  if (!link) throw new Error(`No verification link was emailed to ${email}.`);
  return link;
}

const verified = async (ctx: Awaited<ReturnType<typeof liveService>>, cookie: string) =>
  (await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } })).json().account.emailVerified as boolean;

t.test('a mail scanner opens the link with GET and HEAD; only the person clicking confirms, once', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUp(ctx.app);
  const link = await emailedLink(ctx, owner.email);
  t.ok(link.startsWith(`${ctx.baseUrl}/verify-email?token=`), 'the emailed link opens this service');

  for (const method of ['GET', 'HEAD', 'GET', 'HEAD']) {
    const scanned = await fetch(link, { method, redirect: 'manual' });
    t.equal(scanned.status, 200, `the scanner's ${method} is answered`);
    t.equal(scanned.headers.get('cache-control'), 'no-store');
  }
  t.equal(await verified(ctx, owner.cookie), false, 'scanning consumed nothing');

  const page = await (await newContext(t, browser)).newPage();
  const opened = await page.goto(link);
  const csp = opened!.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self'/, 'scripts only from the service itself');
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script allowed');
  t.equal(opened!.headers()['referrer-policy'], 'no-referrer', 'the token never leaks as a referrer');
  t.equal(await page.getAttribute('html', 'lang'), 'en');
  t.ok(await page.locator('meta[name="viewport"]').count(), 'readable on a phone');
  await page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
  await checkPage(t, page, 'verify-email-1-confirm');
  t.equal(await verified(ctx, owner.cookie), false, 'the browser opening the page consumed nothing either');

  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
  await checkPage(t, page, 'verify-email-2-confirmed');
  t.equal(await verified(ctx, owner.cookie), true, 'the click confirmed the address');
  const events = await sql<{ n: string }>`select count(*) as n from audit_events where action = 'account.email_verified'`.execute(ctx.runtime.db);
  t.equal(Number(events.rows[0]!.n), 1, 'one confirmation recorded');

  // The same link again (the person clicks it from the email a second time).
  await page.goto(link);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'This link was already used' }).waitFor();
  await page.getByRole('button', { name: 'Email me a new link' }).waitFor();
  t.ok(await page.getByLabel('Your email address').count(), 'not signed in here: a form to ask for a new link by address');
  await checkPage(t, page, 'verify-email-3-already-used');

  t.equal(redactUrl(new URL(link).pathname + new URL(link).search), '/verify-email?token=[redacted]', 'the page URL never reaches a log line with its token');
});

t.test('an expired link offers a signed-in person a new one, which the inbox receives', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t, { RESEND_COOLDOWN_SECONDS: '0' });
  const owner = await signUp(ctx.app);
  const link = await emailedLink(ctx, owner.email);
  await sql`update email_verifications set expires_at = now() - interval '1 minute'`.execute(ctx.runtime.db);

  const context = await newContext(t, browser);
  await context.addCookies([{ name: 'sid', value: owner.cookie.slice('sid='.length), url: ctx.baseUrl }]);
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
  t.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'alert', 'focus moves to what went wrong');
  await checkPage(t, page, 'verify-email-4-expired');
  t.equal(await verified(ctx, owner.cookie), false);

  await page.getByRole('button', { name: 'Email me a new link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  await checkPage(t, page, 'verify-email-5-resent');
  const fresh = await emailedLink(ctx, owner.email);
  t.not(fresh, link, 'a new link was emailed');
  await page.goto(fresh);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
  t.equal(await verified(ctx, owner.cookie), true);
});

t.test('signed out, an expired link: type the address, a neutral answer, the email arrives, the new link confirms', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t, { RESEND_COOLDOWN_SECONDS: '0' });
  const owner = await signUp(ctx.app);
  const link = await emailedLink(ctx, owner.email);
  await sql`update email_verifications set expires_at = now() - interval '1 minute'`.execute(ctx.runtime.db);

  const page = await (await newContext(t, browser)).newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
  const email = page.getByLabel('Your email address');
  t.equal(await email.getAttribute('type'), 'email');
  t.equal(await email.getAttribute('maxlength'), '254');

  await email.fill('not an address');
  await page.getByRole('button', { name: 'Email me a new link' }).click();
  await page.getByRole('heading', { name: 'Get a new verification link' }).waitFor();
  t.equal(await page.getByLabel('Your email address').getAttribute('aria-invalid'), 'true', 'a bad address is marked on its field');
  t.match(await page.textContent('#field-email-error'), 'must be an email address');
  await checkPage(t, page, 'verify-email-6-request-error');

  await page.getByLabel('Your email address').fill(owner.email);
  await page.getByRole('button', { name: 'Email me a new link' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  t.match(await page.textContent('main'), `If an unconfirmed account uses ${owner.email}, we've sent a new verification link`);
  await checkPage(t, page, 'verify-email-7-requested');

  const fresh = await emailedLink(ctx, owner.email);
  t.not(fresh, link, 'a new link arrived');
  t.equal(ctx.smtp.to(owner.email).length, 2, 'exactly one more email');
  await page.goto(fresh);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
  t.equal(await verified(ctx, owner.cookie), true);
});

t.test('a form POST without its CSRF token is refused and consumes nothing', async (t) => {
  const ctx = await liveService(t);
  const owner = await signUp(ctx.app);
  const link = await emailedLink(ctx, owner.email);
  const token = new URL(link).searchParams.get('token')!;
  const forged = await fetch(`${ctx.baseUrl}/verify-email`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, _csrf: 'forged' }),
  });
  t.equal(forged.status, 403);
  t.match(forged.headers.get('content-type'), 'text/html');
  t.match(await forged.text(), 'reload the page');
  t.equal(await verified(ctx, owner.cookie), false);
  const apiForm = await fetch(`${ctx.baseUrl}/v1/email-verifications/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  t.equal(apiForm.status, 415, 'the API still takes no form bodies');
  t.equal((await fetch(`${ctx.baseUrl}/openapi.json`).then((r) => r.json()) as { paths: Record<string, unknown> }).paths['/verify-email'], undefined, 'pages are not in the API document');
});

t.test('without Chromium the browser tests fail with what to install, never skip', async (t) => {
  await t.rejects(launchChromium(t, '/nonexistent/chromium'), /Chromium is missing at \/nonexistent\/chromium: install it with `apt-get install -y chromium`/);
});

t.test('tokens in page URLs never reach the log', async (t) => {
  const ctx = await liveService(t, {}, { captureLogs: true });
  const owner = await signUp(ctx.app);
  const link = await emailedLink(ctx, owner.email);
  const token = new URL(link).searchParams.get('token')!;
  t.equal((await fetch(link)).status, 200);
  t.equal((await fetch(`${ctx.baseUrl}/invitations/accept?token=${token}`)).status, 404);
  t.match(ctx.logs(), '/verify-email?token=[redacted]', 'the page request is logged, redacted');
  t.notMatch(ctx.logs(), token, 'the token itself never');
});

t.test('HOSTED_PAGES=false serves no pages', async (t) => {
  const ctx = await liveService(t, { HOSTED_PAGES: 'false' });
  t.equal((await fetch(`${ctx.baseUrl}/verify-email?token=x`)).status, 404);
  t.equal((await fetch(`${ctx.baseUrl}/assets/pages.js`)).status, 404);
});

t.test('a mistyped page address gets an HTML "Page not found" page; the API keeps its problem documents', async (t) => {
  const ctx = await testContext(t);
  const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
  const page = await ctx.app.inject({ url: '/admin/trials', headers: { accept: browserAccept } });
  t.equal(page.statusCode, 404);
  t.match(page.headers['content-type'], 'text/html');
  t.match(page.body, '<h1>Page not found</h1>');
  t.match(page.body, '<html lang="en">');
  t.match(page.headers['content-security-policy'], "script-src 'self'");
  const api = await ctx.app.inject({ url: '/v1/nothing-here', headers: { accept: browserAccept } });
  t.equal(api.statusCode, 404);
  t.match(api.headers['content-type'], 'application/problem+json');
  const client = await ctx.app.inject({ url: '/nope', headers: { accept: 'application/json' } });
  t.match(client.headers['content-type'], 'application/problem+json', 'a client asking for JSON gets a problem document');
  const off = await testContext(t, { env: { HOSTED_PAGES: 'false' } });
  t.match((await off.app.inject({ url: '/nope', headers: { accept: browserAccept } })).headers['content-type'], 'application/problem+json');
});
