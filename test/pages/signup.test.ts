import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { loadConfig, type ConfigError } from '../../src/config.js';
import { testContext } from '../helpers/app.js';
import { checkPage, launchChromium, liveService, newContext } from '../helpers/browser.js';
import { PASSWORD, uniqueEmail } from '../helpers/factories.js';
import { latestCode } from '../helpers/signup.js';

t.setTimeout(300_000);

type Live = Awaited<ReturnType<typeof liveService>>;

const heading = (page: Page, name: string) => page.getByRole('heading', { name, level: 2 }).waitFor();
const saved = (page: Page) => page.locator('#save-status', { hasText: 'All changes saved.' }).waitFor();
/** The flow's stored sections, as the database holds them. */
const storedData = async (ctx: Live, email: string) =>
  (await sql<{ data: Record<string, Record<string, string>> }>`select data from signup_flows where email = ${email}`.execute(ctx.runtime.db)).rows[0]?.data;

/** The email step, then the code from the real SMTP server; lands on the profile step. */
async function emailAndCode(t: Test, ctx: Live, page: Page, email: string, options: { screenshots?: boolean; wrongCode?: boolean } = {}): Promise<void> {
  await page.goto(`${ctx.baseUrl}/signup`);
  await heading(page, 'Your work email');
  if (options.screenshots) await checkPage(t, page, 'signup-1-email');
  await page.getByLabel('Work email', { exact: true }).fill(email);
  await page.getByLabel(/product news/).check();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await heading(page, 'Check your inbox');
  t.match(await page.textContent('section[data-step="code"]'), email, 'the code step names the address');
  if (options.wrongCode) {
    const right = await latestCode(ctx, email);
    await page.locator('#field-code').fill(right === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#field-code-error', { hasText: '4 tries left' }).waitFor();
    t.equal(await page.getAttribute('#field-code', 'aria-invalid'), 'true', 'a wrong code marks the field');
    t.equal(await page.evaluate(() => document.activeElement?.id), 'field-code', 'and focus goes back to it');
    if (options.screenshots) await checkPage(t, page, 'signup-2-wrong-code');
  }
  await page.locator('#field-code').fill(await latestCode(ctx, email));
  await page.getByRole('button', { name: 'Verify' }).click();
  await heading(page, 'About you');
}

/** Profile, company and address, each auto-saved, then Continue to the plan step. */
async function profileCompanyAddress(page: Page, company: string): Promise<void> {
  await page.getByLabel('First name', { exact: true }).fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill('Lovelace');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await saved(page);
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Your company');
  await page.getByLabel('Company name', { exact: true }).fill(company);
  await saved(page);
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Company address');
  await fillAddress(page, '12207');
  await saved(page);
}

/** An address in Albany, NY, with the postal code given. */
async function fillAddress(page: Page, postalCode: string): Promise<void> {
  await page.getByLabel('Address line 1', { exact: true }).fill('1 Main St');
  await page.getByLabel('City', { exact: true }).fill('Albany');
  await page.getByLabel('Country', { exact: true }).selectOption('US');
  await page.getByLabel('State, province or region', { exact: true }).fill('NY');
  await page.getByLabel('Postal code', { exact: true }).fill(postalCode);
}

t.test('the whole staged sign-up in the browser to a paid plan: auto-save, a reload, a second device, a declined card, then a good one', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const email = uniqueEmail('wizard');
  const page = await (await newContext(t, browser)).newPage();

  const opened = await page.goto(`${ctx.baseUrl}/signup`);
  const csp = opened!.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self'(;|$)/, 'scripts only from the service: no Stripe.js without a publishable key');
  t.notMatch(csp, /unsafe-inline|stripe/);

  // An empty address is refused on the page, tied to its field.
  await heading(page, 'Your work email');
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await page.locator('#field-email-error', { hasText: 'Work email is required.' }).waitFor();
  t.equal(await page.getAttribute('#field-email', 'aria-describedby'), 'field-email-error');
  t.equal(await page.evaluate(() => document.activeElement?.id), 'field-email', 'focus goes to the field to fix');

  await emailAndCode(t, ctx, page, email, { screenshots: true, wrongCode: true });
  await checkPage(t, page, 'signup-3-profile');

  // Profile: the names are saved as typed; the password is stored as a hash only.
  await page.getByLabel('First name', { exact: true }).fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill('Lovelace');
  await saved(page);
  t.same((await storedData(ctx, email))?.profile, { firstName: 'Ada', lastName: 'Lovelace' }, 'auto-saved without pressing anything');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#field-profile\\.password-error', { hasText: 'Password is required.' }).waitFor();
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#field-profile\\.password-error', { hasText: 'at least 8 characters' }).waitFor();
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Your company');
  const hash = await sql<{ password_hash: string | null }>`select password_hash from signup_flows where email = ${email}`.execute(ctx.runtime.db);
  t.match(hash.rows[0]?.password_hash, /^\$argon2id\$/, 'the password reached the flow as an argon2id hash');

  await page.getByLabel('Company name', { exact: true }).fill('Analytical Engines');
  await saved(page);
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Company address');

  // A wrong postal code comes back from the API as an error on its field.
  t.equal(await page.getAttribute('#field-address\\.region', 'required'), null, 'the region is optional until the country needs one');
  await fillAddress(page, 'ABCDE');
  t.equal(await page.getAttribute('#field-address\\.region', 'required'), '', 'the region is required for the US');
  await page.locator('#field-address\\.postalCode-error', { hasText: 'Postal code is not a valid US postal code (expected format: 00000 or 99999-9999).' }).waitFor();
  t.equal(await page.getAttribute('#field-address\\.postalCode', 'aria-invalid'), 'true');
  await page.locator('#save-status', { hasText: "Couldn't save" }).waitFor();
  await checkPage(t, page, 'signup-4-address-error');
  await page.getByLabel('Postal code', { exact: true }).fill('12207');
  await saved(page);
  t.equal(await page.locator('#field-address\\.postalCode-error').count(), 0, 'the error goes once the field is fixed');

  // A reload in the middle: the first step not done, and every saved field still filled.
  await page.reload();
  await heading(page, 'Choose a plan');
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'Company address');
  t.equal(await page.getByLabel('Address line 1', { exact: true }).inputValue(), '1 Main St');
  t.equal(await page.getByLabel('City', { exact: true }).inputValue(), 'Albany');
  t.equal(await page.getByLabel('State, province or region', { exact: true }).inputValue(), 'NY');
  t.equal(await page.getByLabel('Postal code', { exact: true }).inputValue(), '12207');
  t.equal(await page.getByLabel('Country', { exact: true }).inputValue(), 'US');
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'Your company');
  t.equal(await page.getByLabel('Company name', { exact: true }).inputValue(), 'Analytical Engines');
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'About you');
  t.equal(await page.getByLabel('First name', { exact: true }).inputValue(), 'Ada');
  t.equal(await page.getByLabel('Last name', { exact: true }).inputValue(), 'Lovelace');
  t.match(await page.textContent('#field-profile\\.password-hint'), 'Your password is saved', 'the password is never sent back, but the page says it is saved');
  t.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Your company');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Company address');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Choose a plan');

  // The paid plan: saved on choosing it, then the payment step in test mode.
  await page.getByLabel(/^Pro/).check();
  await saved(page);
  t.same((await storedData(ctx, email))?.plan, { id: 'pro' });
  await checkPage(t, page, 'signup-5-plan');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Payment method');
  await page.getByText('Test mode', { exact: true }).waitFor();
  t.equal(await page.locator('input[name="paymentMethodId"]').count(), 4, 'four test cards, and no field for a card number');
  t.equal(await page.locator('input[autocomplete^="cc-"], input[name*="number" i], input[name*="cvc" i]').count(), 0);
  await checkPage(t, page, 'signup-6-payment');

  // A second device resumes the same flow by email code: the payment step, every field filled.
  const other = await (await newContext(t, browser)).newPage();
  await other.goto(`${ctx.baseUrl}/signup`);
  await heading(other, 'Your work email');
  await other.getByRole('button', { name: 'Started on another device? Continue here' }).click();
  await heading(other, 'Continue your sign-up');
  await other.getByLabel('Email', { exact: true }).fill(email);
  await other.getByRole('button', { name: 'Email me a code' }).click();
  await other.locator('#field-resumeCode').waitFor();
  await checkPage(t, other, 'signup-7-resume');
  await other.locator('#field-resumeCode').fill(await latestCode(ctx, email));
  await other.getByRole('button', { name: 'Continue' }).click();
  await heading(other, 'Payment method');
  await other.getByRole('button', { name: 'Back' }).click();
  await heading(other, 'Choose a plan');
  t.ok(await other.getByLabel(/^Pro/).isChecked(), 'the plan chosen on the first device');
  await other.getByRole('button', { name: 'Back' }).click();
  await other.getByRole('button', { name: 'Back' }).click();
  await heading(other, 'Your company');
  t.equal(await other.getByLabel('Company name', { exact: true }).inputValue(), 'Analytical Engines');
  // An edit here (the first device's version is now stale) reaches the workspace it becomes.
  await other.getByLabel('Company name', { exact: true }).fill('Analytical Engines Ltd');
  await saved(other);

  // Back on the first device, whose version is stale now: a plan change gets a 409, takes the other
  // device's version and saves on top of it, so neither edit is lost.
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'Choose a plan');
  await page.getByLabel(/^Free trial/).check();
  await saved(page);
  t.match(await storedData(ctx, email), { plan: { id: 'trial' }, company: { name: 'Analytical Engines Ltd' } }, 'both devices\' edits are stored');
  await page.getByLabel(/^Pro/).check();
  await saved(page);
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByRole('button', { name: 'Back' }).click();
  await heading(page, 'Your company');
  t.equal(await page.getByLabel('Company name', { exact: true }).inputValue(), 'Analytical Engines Ltd', 'the first device shows the other device\'s edit');
  for (const next of ['Company address', 'Choose a plan', 'Payment method']) {
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, next);
  }

  // A declined card shows the gateway's reason, once, on the card choice, and nothing is created.
  await page.getByLabel(/ending 0002/).check();
  await page.getByRole('button', { name: 'Start my subscription' }).click();
  const reason = page.locator('#field-paymentMethodId-error', { hasText: 'The card was declined' });
  await reason.waitFor();
  t.match(await reason.textContent(), 'Try another card');
  t.match(await page.getAttribute('#field-paymentMethodId', 'aria-describedby'), 'field-paymentMethodId-error', 'the reason is tied to the card choice');
  t.equal(await reason.getAttribute('role'), 'alert', 'and announced as it appears');
  const accessibleText = await page.locator('body').ariaSnapshot();
  t.equal(accessibleText.split((await reason.textContent())!).length - 1, 1, "the reason is in the page's accessible text exactly once");
  t.equal(await page.locator('[role="alert"]:visible, [aria-live]:visible', { hasText: 'The card was declined' }).count(), 1, 'one live region carries it');
  t.same(await page.evaluate(() => [document.activeElement?.getAttribute('name'), (document.activeElement as HTMLInputElement).checked]), ['paymentMethodId', true], 'focus on the card that was declined, to pick another');
  await heading(page, 'Payment method');
  await checkPage(t, page, 'signup-8-declined');
  const accounts = () => sql<{ id: string }>`select id from accounts where email = ${email}`.execute(ctx.runtime.db).then((r) => r.rows.length);
  t.equal(await accounts(), 0, 'no account after the decline');

  await page.getByLabel(/Visa ending 4242/).check();
  await page.getByRole('button', { name: 'Start my subscription' }).click();
  await heading(page, 'Your account is ready');
  t.match(await page.textContent('section[data-step="done"]'), 'Analytical Engines Ltd', 'the workspace carries the second device\'s edit');
  await checkPage(t, page, 'signup-9-done');
  t.equal(await accounts(), 1, 'one account');
  const workspace = await sql<{ id: string; plan: string }>`select w.id, w.plan from workspaces w where w.name = 'Analytical Engines Ltd'`.execute(ctx.runtime.db);
  t.equal(workspace.rows[0]?.plan, 'pro');
  const subscriptions = await sql<{ status: string }>`select status from subscriptions where workspace_id = ${workspace.rows[0]!.id}`.execute(ctx.runtime.db);
  t.same(subscriptions.rows, [{ status: 'trialing' }], 'a subscription on its trial');
  t.equal(await page.getAttribute('a[data-bind-href="onboarding"]', 'href'), `/onboarding/${workspace.rows[0]!.id}`);
  const me = await page.context().request.get(`${ctx.baseUrl}/v1/me`);
  t.equal(me.status(), 200, 'the browser is signed in');
  t.equal((await me.json()).account.email, email);

  // Completing revoked the second device's cookie: it starts over.
  await other.reload();
  await heading(other, 'Your work email');
});

/** Every console error, failed request and error answer a page meets. */
function trouble(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message) => message.type() === 'error' && seen.push(`console: ${message.text()}`));
  page.on('requestfailed', (request) => seen.push(`failed: ${request.url()}`));
  page.on('response', (response) => response.status() >= 400 && seen.push(`${response.status()}: ${response.url()}`));
  return seen;
}

t.test('a fresh visit to /signup makes no failing request and logs no error: the page knows there is no flow', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const page = await (await newContext(t, browser)).newPage();
  const seen = trouble(page);
  const flowReads: string[] = [];
  page.on('request', (request) => request.url().includes('/v1/signup-flows') && flowReads.push(request.url()));
  await page.goto(`${ctx.baseUrl}/signup`);
  await heading(page, 'Your work email');
  await page.waitForLoadState('networkidle');
  t.same(seen, [], 'no console error, failed request or error answer');
  t.same(flowReads, [], 'no flow asked for: this browser has none');

  // Once a flow starts, the hint tells a reload to read it.
  const email = uniqueEmail('fresh');
  await page.getByLabel('Work email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await heading(page, 'Check your inbox');
  const hint = (await page.context().cookies(`${ctx.baseUrl}/signup`)).find((cookie) => cookie.name === 'signup_flow_ends');
  t.ok(hint?.httpOnly, 'the hint is HttpOnly, sent to /signup only');
  t.equal(hint?.path, '/signup');
  await page.reload();
  await heading(page, 'Check your inbox');
  await page.waitForLoadState('networkidle');
  t.same(seen, [], 'still nothing failed');
});

t.test('a flow expired in the database: the page says so, and its button starts a new sign-up', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const email = uniqueEmail('expired');
  const context = await newContext(t, browser);
  const page = await context.newPage();
  await page.goto(`${ctx.baseUrl}/signup`);
  await page.getByLabel('Work email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await heading(page, 'Check your inbox');
  await page.locator('#field-code').fill(await latestCode(ctx, email));
  await page.getByRole('button', { name: 'Verify' }).click();
  await heading(page, 'About you');
  const expire = () => sql`update signup_flows set expires_at = now() - interval '1 second' where email = ${email} and completed_at is null`.execute(ctx.runtime.db);
  const flows = async () => (await sql<{ n: number }>`select count(*)::int as n from signup_flows where email = ${email}`.execute(ctx.runtime.db)).rows[0]!.n;

  // An edit on a flow that expired meanwhile: the save answers 410 and the page says what happened.
  await expire();
  await page.getByLabel('First name', { exact: true }).fill('Ada');
  await page.getByLabel('Last name', { exact: true }).fill('Lovelace');
  await heading(page, 'This sign-up has expired');
  t.ok(await page.locator('section[data-step="profile"]').isHidden(), 'the form it can no longer save is gone');

  // A reload reads the flow: GET answers 410, as the API documents, and the page shows the same state.
  await page.reload();
  await heading(page, 'This sign-up has expired');
  t.equal(await page.locator('[aria-current="step"]').count(), 0, 'no step is current');
  await checkPage(t, page, 'signup-expired');
  await page.getByRole('button', { name: 'Start a new sign-up' }).click();
  await heading(page, 'Your work email');
  await page.getByLabel('Work email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await heading(page, 'Check your inbox');
  t.equal(await flows(), 2, 'a new flow, for the same address');
  await page.locator('#field-code').fill(await latestCode(ctx, email));
  await page.getByRole('button', { name: 'Verify' }).click();
  await heading(page, 'About you');
  t.equal(await page.getByLabel('First name', { exact: true }).inputValue(), '', 'nothing carried over from the expired flow');

  // Coming back after the flow's end (the hint says so): the expired state, without asking the API.
  const late = await (await newContext(t, browser)).newPage();
  await late.context().addCookies([{ name: 'signup_flow_ends', value: String(Math.floor(Date.now() / 1000) - 60), url: `${ctx.baseUrl}/signup` }]);
  const seen = trouble(late);
  await late.goto(`${ctx.baseUrl}/signup`);
  await heading(late, 'This sign-up has expired');
  await late.getByRole('button', { name: 'Start a new sign-up' }).click();
  await heading(late, 'Your work email');
  t.same(seen, [], 'no failing request on the way');
});

t.test('on a phone: the free plan needs no card, and the page never scrolls sideways', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const email = uniqueEmail('phone');
  const page = await (await newContext(t, browser, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true })).newPage();
  await emailAndCode(t, ctx, page, email);
  await profileCompanyAddress(page, 'Phone Co');
  await checkPage(t, page, 'signup-phone-address');
  t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling at 360 px');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Choose a plan');
  await page.getByLabel(/^Free trial/).check();
  await saved(page);
  t.ok(await page.locator('[data-step-item="payment"]').isHidden(), 'no payment step for a free plan');
  await page.getByRole('button', { name: 'Continue' }).click();
  await heading(page, 'Your account is ready');
  const workspace = await sql<{ plan: string }>`select plan from workspaces where name = 'Phone Co'`.execute(ctx.runtime.db);
  t.same(workspace.rows, [{ plan: 'trial' }]);
});

t.test('the wizard script is the committed bundle, served from /assets/ as one self-contained module', async (t) => {
  const ctx = await liveService(t);
  const response = await fetch(`${ctx.baseUrl}/assets/signup.js`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), 'javascript');
  const code = await response.text();
  t.notMatch(code, /\bfrom\s*["']|\bimport\s*\(|\brequire\(/, 'one self-contained module: no import left for the browser to resolve');
  t.match(code, '/v1/signup-flows/current', 'it speaks the staged sign-up API');
  const page = await (await fetch(`${ctx.baseUrl}/signup`)).text();
  t.match(page, '<script type="module" src="/assets/signup.js">');
  t.notMatch(page, 'pages.js', 'the wizard drives its own forms');
  const select = page.slice(page.indexOf('name="address.country"'), page.indexOf('</select>', page.indexOf('name="address.country"')));
  const names = [...select.matchAll(/<option value="[A-Z]{2}">([^<]+)<\/option>/g)].map((match) => match[1]!);
  t.ok(names.length > 200, 'every country is offered');
  t.same(names, [...names].sort((a, b) => a.localeCompare(b, 'en')), 'countries are listed by name, as people look for them');
});

t.test('STRIPE_PUBLISHABLE_KEY: Stripe Elements instead of test cards, and Stripe.js allowed on /signup only', async (t) => {
  const ctx = await testContext(t, {
    env: { STRIPE_SECRET_KEY: 'sk_test_0123456789', STRIPE_WEBHOOK_SECRET: 'whsec_0123456789', STRIPE_PUBLISHABLE_KEY: 'pk_test_0123456789', STRIPE_API_BASE: 'http://127.0.0.1:9' },
  });
  const signup = await ctx.app.inject({ method: 'GET', url: '/signup' });
  const csp = String(signup.headers['content-security-policy']);
  t.match(csp, /script-src 'self' https:\/\/js\.stripe\.com/);
  t.match(csp, /frame-src https:\/\/js\.stripe\.com/);
  t.match(csp, /connect-src 'self' https:\/\/api\.stripe\.com/);
  t.match(signup.body, 'data-stripe-key="pk_test_0123456789"');
  t.notMatch(signup.body, 'Test mode', 'no test cards with real Stripe');
  t.match(signup.body, 'id="field-card-element"');
  const other = await ctx.app.inject({ method: 'GET', url: '/verify-email?token=x' });
  t.notMatch(String(other.headers['content-security-policy']), 'stripe', 'other pages keep the strict policy');

  const error = t.throws(() => loadConfig({ STRIPE_PUBLISHABLE_KEY: 'pk_test_0123456789' })) as ConfigError;
  t.match(error.message, 'STRIPE_PUBLISHABLE_KEY needs STRIPE_SECRET_KEY');
});
