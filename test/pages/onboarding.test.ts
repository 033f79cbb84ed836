import type { Browser, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { checkPage, launchChromium, liveService, newContext } from '../helpers/browser.js';
import { PASSWORD, signUpVerified } from '../helpers/factories.js';
import { outageProxy } from '../helpers/outage-proxy.js';

t.setTimeout(600_000);

type Live = Awaited<ReturnType<typeof liveService>>;
type Owner = Awaited<ReturnType<typeof signUpVerified>>;

/** A browser context signed in as `owner` (their session cookie), like a second tab or device. */
async function signedIn(t: Test, browser: Browser, ctx: Live, owner: Owner) {
  const context = await newContext(t, browser);
  const [name, value] = owner.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, url: ctx.baseUrl }]);
  return context;
}

/** The onboarding as the API holds it. */
async function onboarding(ctx: Live, owner: Owner): Promise<{ version: number; data: Record<string, unknown>; steps: { key: string; completed: boolean }[] }> {
  const response = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/onboarding`, headers: { cookie: owner.cookie } });
  if (response.statusCode !== 200) throw new Error(response.body);
  return response.json();
}

/** Waits until the page's save status is `state`. */
const saveState = (page: Page, state: string) => page.locator(`#save-status[data-state="${state}"]`).waitFor();
const inDialog = (page: Page) => page.evaluate(() => document.activeElement?.closest('dialog')?.id ?? null);

t.test('signed out, the page signs in and comes back; steps tick; a non-member gets a 403 page', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Wizard Works' });
  const url = `${ctx.baseUrl}/onboarding/${owner.workspaceId}`;

  const page = await (await newContext(t, browser)).newPage();
  const first = await page.goto(url);
  t.equal(first!.status(), 401);
  await page.getByRole('heading', { name: 'Sign in to continue' }).waitFor();
  await checkPage(t, page, 'onboarding-1-sign-in');
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#field-password-error').waitFor();
  t.equal(await page.evaluate(() => document.activeElement?.id), 'form-alert', 'focus moves to what went wrong');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Set up Wizard Works' }).waitFor();
  t.equal(page.url(), url, 'back on the page asked for');
  await checkPage(t, page, 'onboarding-2-wizard');

  await page.getByRole('button', { name: 'Mark as done: Complete your profile' }).click();
  await page.getByRole('button', { name: 'Mark as not done: Complete your profile' }).waitFor();
  t.match(await page.textContent('#steps-heading'), '1 of 4 done');
  t.same((await onboarding(ctx, owner)).steps.find((s) => s.key === 'profile_complete')?.completed, true, 'the step is done in the API');
  await page.getByRole('button', { name: 'Mark as not done: Complete your profile' }).click();
  await page.getByRole('button', { name: 'Mark as done: Complete your profile' }).waitFor();
  t.same((await onboarding(ctx, owner)).steps.find((s) => s.key === 'profile_complete')?.completed, false, 'and undone');

  const outsider = await signUpVerified(ctx, { workspaceName: 'Elsewhere' });
  const stranger = await (await signedIn(t, browser, ctx, outsider)).newPage();
  const refused = await stranger.goto(url);
  t.equal(refused!.status(), 403);
  await stranger.getByRole('heading', { name: 'You do not have access to this workspace' }).waitFor();
  t.match(await stranger.textContent('main'), outsider.email, 'names the account signed in');
  t.notMatch(await stranger.textContent('main'), 'Wizard Works', 'does not reveal the workspace');
  await checkPage(t, stranger, 'onboarding-3-forbidden');
});

t.test('two tabs edit one draft: the second gets the conflict dialog; "Keep mine" and "Use theirs" both lose nothing', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Twin Tabs' });
  const url = `${ctx.baseUrl}/onboarding/${owner.workspaceId}`;
  const a = await (await signedIn(t, browser, ctx, owner)).newPage();
  const b = await (await signedIn(t, browser, ctx, owner)).newPage();
  await a.goto(url);
  await b.goto(url);

  // Each edit waits for its save, so the versions do not depend on how fast the edits come.
  await a.getByLabel('Your role').fill('CTO');
  await saveState(a, 'saved');
  await a.getByLabel('Company size').selectOption('11-50');
  await saveState(a, 'saved');
  t.match(await onboarding(ctx, owner), { version: 2, data: { role: 'CTO', companySize: '11-50' } }, 'A saved');

  // B still holds version 0 and edits the same answer.
  await b.getByLabel('Your role').fill('Head of Data');
  const dialog = b.getByRole('dialog', { name: 'Changed on another tab or device' });
  await dialog.waitFor();
  await saveState(b, 'conflict');
  const rows = b.locator('#conflict-rows tr');
  t.equal(await rows.count(), 1, 'one answer differs');
  t.same(await rows.first().locator('th, td').allTextContents(), ['Your role', 'CTO', 'Head of Data'], 'theirs beside mine, field by field');
  t.match(await b.textContent('#conflict-merged'), 'Company size', "A's other answer is kept either way");
  t.equal(await inDialog(b), 'conflict-dialog', 'focus moves into the dialog');
  for (let i = 0; i < 3; i++) await b.keyboard.press('Tab');
  t.equal(await inDialog(b), 'conflict-dialog', 'Tab stays in the dialog');
  await b.keyboard.press('Shift+Tab');
  t.equal(await inDialog(b), 'conflict-dialog', 'Shift+Tab too');
  await checkPage(t, b, 'onboarding-4-conflict');
  t.same((await onboarding(ctx, owner)).version, 2, 'nothing saved while the conflict waits');

  await b.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  t.equal(await b.evaluate(() => document.activeElement?.id), 'conflict-review', 'Esc closes it; focus on the way back to it');
  await b.getByRole('button', { name: 'Review the conflict' }).click();
  await dialog.waitFor();
  await b.getByRole('button', { name: 'Keep mine' }).click();
  await saveState(b, 'saved');
  t.match(await onboarding(ctx, owner), { version: 3, data: { role: 'Head of Data', companySize: '11-50' } }, 'mine saved on their version, their other answer kept');
  t.equal(await b.getByLabel('Company size').inputValue(), '11-50', "B's form shows A's other answer");

  // Now A is behind: it edits the same answer and another one, then takes theirs.
  // Two answers in one edit: one typed but not sent yet, then the role (its input event sends both).
  await a.getByLabel('What do you want to do first?').evaluate((textarea: HTMLTextAreaElement) => (textarea.value = 'Dashboards for the sales team'));
  await a.getByLabel('Your role').fill('VP Engineering');
  await a.getByRole('dialog').waitFor();
  t.same(await a.locator('#conflict-rows tr').first().locator('th, td').allTextContents(), ['Your role', 'Head of Data', 'VP Engineering']);
  await a.getByRole('button', { name: 'Use theirs' }).click();
  await saveState(a, 'saved');
  t.equal(await a.getByLabel('Your role').inputValue(), 'Head of Data', 'their answer is shown');
  t.equal(await a.getByLabel('What do you want to do first?').inputValue(), 'Dashboards for the sales team', 'my other answer stays');
  t.match(await onboarding(ctx, owner), { version: 4, data: { role: 'Head of Data', companySize: '11-50', useCase: 'Dashboards for the sales team' } }, 'nothing lost');
  await checkPage(t, a, 'onboarding-5-resolved');

  // A reload shows every saved answer.
  await b.reload();
  t.equal(await b.getByLabel('What do you want to do first?').inputValue(), 'Dashboards for the sales team');
});

t.test('the status says Offline while the browser or the server is unreachable, and Saved once it is back', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Flaky Network' });
  const context = await signedIn(t, browser, ctx, owner);
  const page = await context.newPage();
  await page.goto(`${ctx.baseUrl}/onboarding/${owner.workspaceId}`);

  await context.setOffline(true);
  await page.getByLabel('Integration to connect first').fill('Slack');
  await saveState(page, 'offline');
  t.match(await page.textContent('#save-status'), 'Offline');
  await checkPage(t, page, 'onboarding-6-offline');
  await page.getByLabel('Integration to connect first').fill('Salesforce');
  t.same((await onboarding(ctx, owner)).data, {}, 'nothing reached the server');
  await context.setOffline(false);
  await saveState(page, 'saved');
  t.match(await onboarding(ctx, owner), { version: 1, data: { integration: 'Salesforce' } }, 'the latest edit, saved once the connection returned');

  // The service itself unreachable (the browser online): a TCP proxy in front of it is cut.
  const proxy = await outageProxy(new URL(ctx.baseUrl));
  await proxy.up();
  t.teardown(() => proxy.down());
  const viaProxy = await context.newPage();
  await viaProxy.goto(`http://127.0.0.1:${proxy.port}/onboarding/${owner.workspaceId}`);
  await proxy.down();
  await viaProxy.getByLabel('Where your data comes from').fill('PostgreSQL');
  await saveState(viaProxy, 'offline');
  t.same((await onboarding(ctx, owner)).version, 1, 'not saved while the service is out of reach');
  await proxy.up();
  await saveState(viaProxy, 'saved');
  t.match(await onboarding(ctx, owner), { version: 2, data: { integration: 'Salesforce', dataSource: 'PostgreSQL' } }, 'saved after it returned');
});

t.test("a save the database refuses: the status says Couldn't save, and Try again saves once the fault is gone", async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t, { DATABASE_STATEMENT_TIMEOUT_MS: '1000' });
  const owner = await signUpVerified(ctx, { workspaceName: 'Held Rows' });
  const page = await (await signedIn(t, browser, ctx, owner)).newPage();
  await page.goto(`${ctx.baseUrl}/onboarding/${owner.workspaceId}`);

  // A real fault: another transaction holds the draft's row, so every save waits past the statement
  // timeout and answers 503; the AutoSaver retries (2, 4, 8 s) and then gives up.
  const holder = await ctx.runtime.pool.connect();
  let holding = true;
  const release = async () => {
    if (holding) await holder.query('rollback');
    holding = false;
  };
  t.teardown(async () => {
    await release();
    holder.release();
  });
  await holder.query('begin');
  await holder.query('select 1 from onboarding_progress where workspace_id = $1 for update', [owner.workspaceId]);
  const answers: number[] = [];
  page.on('response', (response) => response.request().method() === 'PATCH' && answers.push(response.status()));

  await page.getByLabel('Your role').fill('CFO');
  await page.locator('#save-status[data-state="error"]').waitFor({ timeout: 60_000 });
  t.match(await page.textContent('#save-status'), "Couldn't save");
  t.ok(answers.length > 1 && answers.every((status) => status === 503), `the server answered 503 to each try (${answers.join(', ')})`);
  const retry = page.getByRole('button', { name: 'Try again' });
  t.ok(await retry.isVisible(), 'a retry button beside the status');
  t.same((await onboarding(ctx, owner)).version, 0, 'nothing saved while the row is held');
  await checkPage(t, page, 'onboarding-7-save-failed');

  await release();
  await retry.click();
  await saveState(page, 'saved');
  t.match(await page.textContent('#save-status'), 'All changes saved.');
  t.ok(await retry.isHidden(), 'the retry button goes once saved');
  t.match(await onboarding(ctx, owner), { version: 1, data: { role: 'CFO' } }, 'the edit is stored');
  await page.reload();
  t.equal(await page.getByLabel('Your role').inputValue(), 'CFO', 'and shown after a reload');
});
