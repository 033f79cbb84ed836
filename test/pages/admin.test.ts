import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import t from 'tap';
import { checkPage, launchChromium, liveService, newContext } from '../helpers/browser.js';
import { subscribe } from '../helpers/billing.js';
import { trialEnd } from '../helpers/admin-pages.js';
import { signUp, signUpVerified } from '../helpers/factories.js';

t.setTimeout(600_000);

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';

t.test('an admin signs in, finds a workspace by owner email, extends its trial with a reason and sees the audit event', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const target = await signUpVerified(ctx, { workspaceName: 'Target Trial' });
  for (let i = 0; i < 26; i++) await signUp(ctx.app, { workspaceName: `Filler ${i}` });

  const context = await newContext(t, browser);
  const page = await context.newPage();
  const first = await page.goto(`${ctx.baseUrl}/admin`);
  t.equal(first!.status(), 401);
  await page.getByRole('heading', { name: 'Admin sign-in' }).waitFor();
  await checkPage(t, page, 'admin-1-sign-in');

  await page.getByLabel('Your name or email').fill('Olivia Ops');
  await page.getByLabel('Admin token').fill('not-the-admin-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#field-token-error').waitFor();
  t.match(await page.getAttribute('#field-token', 'aria-describedby'), 'field-token-error');
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Trials' }).waitFor();

  const [cookie] = (await context.cookies()).filter((c) => c.name === 'admin_page');
  t.ok(cookie, 'a page session cookie');
  t.equal(cookie!.httpOnly, true, 'HttpOnly');
  t.equal(cookie!.sameSite, 'Strict', 'SameSite=Strict');
  t.ok(cookie!.expires > Date.now() / 1000 && cookie!.expires < Date.now() / 1000 + 86_400, 'expires within a day');
  t.notMatch(cookie!.value, ADMIN_TOKEN, 'the cookie does not hold the admin token');
  t.notMatch(await page.evaluate(() => document.cookie), 'admin_page', "the page's JavaScript cannot read it");
  t.notMatch(await page.content(), ADMIN_TOKEN, 'the token is nowhere in the page');

  // Paging: 27 workspaces, 25 a page.
  t.equal(await page.locator('tbody tr').count(), 25);
  await checkPage(t, page, 'admin-2-trials');
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.waitForURL(/cursor=/);
  t.equal(await page.locator('tbody tr').count(), 2, 'the rest on the next page');

  await page.getByLabel('Workspace name or owner email').fill(target.email);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/q=/);
  t.equal(await page.locator('tbody tr').count(), 1, 'found by owner email');

  const csv = await page.request.get(`${ctx.baseUrl}/admin/workspaces.csv?q=${encodeURIComponent(target.email)}`);
  t.equal(csv.status(), 200);
  t.match(csv.headers()['content-type'], 'text/csv');
  const lines = (await csv.text()).trim().split('\r\n');
  t.equal(lines.length, 2, 'header and the one match');
  t.match(lines[1], target.email);
  t.equal((await fetch(`${ctx.baseUrl}/admin/workspaces.csv`)).status, 401, 'no CSV without the page session');

  await page.getByRole('link', { name: 'Target Trial' }).click();
  await page.getByRole('heading', { name: 'Target Trial' }).waitFor();
  const before = await page.textContent('#trial-ends');
  const endBefore = await trialEnd(ctx, target.workspaceId);
  await checkPage(t, page, 'admin-3-workspace');

  await page.getByLabel('Days to add').fill('10');
  await page.getByRole('button', { name: 'Extend trial' }).click();
  await page.locator('#field-reason-error').waitFor();
  await checkPage(t, page, 'admin-4-extend-error');

  await page.getByLabel('Reason').fill('Asked for more time to evaluate.');
  // The answer is lost and the person reloads, sending the form again: its one-time key makes it count once.
  const posts = await submitAndResend(page, '**/extend-trial', () => page.getByRole('button', { name: 'Extend trial' }).click());
  await page.getByRole('status').filter({ hasText: 'The trial was extended.' }).waitFor();
  t.not(await page.textContent('#trial-ends'), before, 'the trial end moved');
  const event = page.locator('#audit-events tbody tr').filter({ hasText: 'trial.extended' });
  t.equal(await event.count(), 1, 'the audit event is shown');
  t.match(await event.textContent(), 'Olivia Ops');
  t.match(await event.textContent(), 'Asked for more time to evaluate.');
  await checkPage(t, page, 'admin-5-extended');

  const rows = await sql<{ actor_id: string; days: number }>`select actor_id, (data->>'extendDays')::int as days from audit_events where action = 'trial.extended' and workspace_id = ${target.workspaceId}`.execute(ctx.runtime.db);
  t.same(rows.rows, [{ actor_id: 'Olivia Ops', days: 10 }], 'audited under the name given at sign-in, once');
  t.same(posts, [303, 303], 'the form reached the server twice');
  t.equal(await trialEnd(ctx, target.workspaceId), endBefore + 10 * 86_400_000, 'ten days added, once');

  const signedInCookie = `admin_page=${(await context.cookies()).find((c) => c.name === 'admin_page')!.value}`;

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Admin sign-in' }).waitFor();
  t.equal((await context.cookies()).filter((c) => c.name === 'admin_page').length, 0, 'signed out');
  const copied = await fetch(`${ctx.baseUrl}/admin`, { headers: { cookie: signedInCookie } });
  t.equal(copied.status, 401, 'a copy of the cookie taken before signing out no longer opens /admin');
  t.match(await copied.text(), 'Admin sign-in');
});

t.test('an admin reopens a closed workspace with a reason', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Closed Corp' });
  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const page = await (await newContext(t, browser)).newPage();
  await page.goto(`${ctx.baseUrl}/admin/workspaces/${owner.workspaceId}`);
  await page.getByLabel('Your name or email').fill('Olivia Ops');
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Closed Corp' }).waitFor();
  t.equal(page.url(), `${ctx.baseUrl}/admin/workspaces/${owner.workspaceId}`, 'signing in from a deep link lands on the page asked for');
  await page.getByRole('button', { name: 'Reopen workspace' }).click();
  await page.locator('#field-reopenReason-error').waitFor();
  await page.getByLabel('Reason for reopening').fill('Customer came back.');
  await page.getByRole('button', { name: 'Reopen workspace' }).click();
  await page.getByRole('status').filter({ hasText: 'The workspace was reopened.' }).waitFor();
  t.equal(await page.getByRole('button', { name: 'Reopen workspace' }).count(), 0, 'no longer closed');
  await checkPage(t, page, 'admin-6-reopened');
  const status = await sql<{ status: string }>`select status from workspaces where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.equal(status.rows[0]!.status, 'active');
  t.equal(await page.locator('#audit-events tbody tr').filter({ hasText: 'Customer came back.' }).filter({ hasText: 'Olivia Ops' }).count(), 1, 'the audit event is shown');
});

t.test('a forged or foreign page session cookie is refused', async (t) => {
  const ctx = await liveService(t);
  for (const value of ['x', 'eyJhY3RvciI6Im1hbGxvcnkiLCJleHAiOjk5OTk5OTk5OTk5OTl9.forged']) {
    const response = await fetch(`${ctx.baseUrl}/admin`, { headers: { cookie: `admin_page=${value}` } });
    t.equal(response.status, 401);
    t.match(await response.text(), 'Admin sign-in');
  }
});

/**
 * Submits a form whose answer is lost on the way back (the server acted, the connection dropped),
 * then reloads, which sends the same form again: the double submit a browser does not prevent.
 * Returns the server's statuses.
 */
async function submitAndResend(page: Page, url: string, submit: () => Promise<void>): Promise<number[]> {
  const statuses: number[] = [];
  await page.route(url, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    statuses.push(response.status());
    await (statuses.length === 1 ? route.abort('connectionreset') : route.fulfill({ response }));
  });
  await submit().catch(() => undefined);
  // Reload only once the browser shows its error page for the lost answer.
  for (let i = 0; !page.url().startsWith('chrome-error:'); i++) {
    if (i > 250) throw new Error(`The lost answer left the page at ${page.url()}.`);
    await page.waitForTimeout(20);
  }
  await page.waitForLoadState();
  await page.reload();
  await page.unroute(url);
  return statuses;
}

async function signIn(page: Page, baseUrl: string, path = '/admin'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Your name or email').fill('Olivia Ops');
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

t.test('a deep link outside the admin pages is not followed after sign-in', async (t) => {
  const ctx = await liveService(t);
  const page = await ctx.app.inject({ method: 'GET', url: '/admin' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const cookie = page.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  for (const returnTo of ['https://evil.example/admin', '//evil.example/admin', '/adminx', '/admin/\\evil.example']) {
    const signedIn = await ctx.app.inject({ method: 'POST', url: '/admin/sign-in', headers: { cookie }, payload: { _csrf: csrf, actor: 'Olivia Ops', token: ADMIN_TOKEN, returnTo } });
    t.equal(signedIn.statusCode, 303);
    t.equal(signedIn.headers.location, '/admin', `${returnTo} is ignored`);
  }
});

t.test("a workspace's detail shows its billing: subscription, card brand and last 4, and the saga", async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const paying = await signUpVerified(ctx, { workspaceName: 'Paying Customer' });
  t.equal((await subscribe(ctx, paying)).statusCode, 200, 'subscribed through the local gateway');
  const free = await signUpVerified(ctx, { workspaceName: 'Free Rider' });

  const page = await (await newContext(t, browser)).newPage();
  await signIn(page, ctx.baseUrl, `/admin/workspaces/${paying.workspaceId}`);
  await page.getByRole('heading', { name: 'Billing' }).waitFor();
  t.match(await page.textContent('#billing-subscription'), /pro, (trialing|active)/);
  t.match(await page.textContent('#billing-card'), /visa ending 4242, expires \d\d\/\d{4}/);
  const saga = page.locator('#billing-sagas tbody tr');
  t.equal(await saga.count(), 1, 'the subscribe saga');
  t.match(await saga.textContent(), /workspace subscription.*completed/s);
  t.notMatch(await page.textContent('main'), /pm_card_visa|4242424242424242/, 'no card data beyond brand and last 4');
  await checkPage(t, page, 'admin-7-billing');

  await page.goto(`${ctx.baseUrl}/admin/workspaces/${free.workspaceId}`);
  t.match(await page.textContent('main'), 'Never subscribed');
});

t.test('the leads list: filters, paging and CSV', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  for (let i = 0; i < 27; i++) {
    await sql`
      insert into signup_leads (email, email_verified, first_name, company_name, last_step, started_at, abandoned_at, marketing_consent, consent_text_version, consent_at)
      values (${`lead${i}@example.com`}, ${i % 9 !== 0}, ${`Lead ${i}`}, ${i === 0 ? '=HYPERLINK("x")' : 'Acme'}, 'company', now() - interval '40 days',
              now() - make_interval(days => ${i}), true, 'v1', now() - interval '40 days')`.execute(ctx.runtime.db);
  }
  const page = await (await newContext(t, browser)).newPage();
  await signIn(page, ctx.baseUrl, '/admin/leads');
  await page.getByRole('heading', { name: 'Leads' }).waitFor();
  t.equal(await page.locator('#leads tbody tr').count(), 25, '25 a page');
  t.match(await page.locator('#leads tbody tr').first().textContent(), 'lead0@example.com', 'most recently abandoned first');
  await checkPage(t, page, 'admin-8-leads');
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.waitForURL(/cursor=/);
  t.equal(await page.locator('#leads tbody tr').count(), 2, 'the rest on the next page');

  await page.getByLabel('Email address').selectOption('false');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/verified=false/);
  t.same(await page.locator('#leads tbody th').allTextContents(), ['lead0@example.com', 'lead9@example.com', 'lead18@example.com'], 'not verified only');

  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Email address').selectOption('');
  await page.getByLabel('Abandoned from').fill(day(3));
  await page.getByLabel('Abandoned until').fill(day(1));
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/from=/);
  t.same(await page.locator('#leads tbody th').allTextContents(), ['lead1@example.com', 'lead2@example.com', 'lead3@example.com'], 'abandoned in those days');

  const csvLink = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  const csv = await page.request.get(`${ctx.baseUrl}${csvLink}`);
  t.equal(csv.status(), 200);
  t.match(csv.headers()['content-type'], 'text/csv');
  const lines = (await csv.text()).trim().split('\r\n');
  t.match(lines[0], /^id,email,/);
  t.same(lines.slice(1).map((l) => l.split(',')[1]), ['lead1@example.com', 'lead2@example.com', 'lead3@example.com'], 'the same filter in the CSV');
  const all = (await (await page.request.get(`${ctx.baseUrl}/admin/leads.csv`)).text()).trim().split('\r\n');
  t.equal(all.length, 28, 'every lead in the unfiltered CSV, past the first page');
  t.match(all.find((l) => l.includes('lead0@')), `'=HYPERLINK`, 'formulas defused');
  t.equal((await fetch(`${ctx.baseUrl}/admin/leads.csv`)).status, 401, 'no CSV without the page session');

  await page.getByLabel('Abandoned from').fill(day(1));
  await page.getByLabel('Abandoned until').fill(day(3));
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator('#filter-to-error').waitFor();
  t.match(await page.getAttribute('#filter-to', 'aria-describedby'), 'filter-to-error');
  await checkPage(t, page, 'admin-9-leads-error');
});
