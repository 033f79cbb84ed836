import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import t from 'tap';
import { checkPage, launchChromium, liveService, newContext } from '../helpers/browser.js';
import { invite, PASSWORD, signUpVerified, uniqueEmail } from '../helpers/factories.js';

t.setTimeout(240_000);

type Live = Awaited<ReturnType<typeof liveService>>;

/** Invites `email` into the owner's workspace and returns the link the email carries. */
async function invitationLink(ctx: Live, owner: { cookie: string; workspaceId: string }, email: string, role = 'member'): Promise<string> {
  const invited = await invite(ctx.app, owner, owner.workspaceId, email, role);
  if (invited.statusCode !== 201) throw new Error(invited.body);
  await ctx.runJobs();
  const link = /https?:\/\/\S+\/invitations\/accept\?token=[A-Za-z0-9_-]+/.exec(ctx.smtp.to(email).at(-1)?.text ?? '')?.[0];
  if (!link) throw new Error(`No invitation link was emailed to ${email}.`);
  return link;
}

async function memberRole(ctx: Live, workspaceId: string, email: string): Promise<string | undefined> {
  const row = await sql<{ role: string }>`select m.role from workspace_members m join accounts a on a.id = m.account_id where m.workspace_id = ${workspaceId} and lower(a.email) = lower(${email})`.execute(ctx.runtime.db);
  return row.rows[0]?.role;
}

const text = (page: Page) => page.textContent('main').then((s) => s ?? '');

t.test('a newcomer sees the workspace, inviter and role, fixes a mistake, and joins', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { name: 'Ada Lovelace', workspaceName: 'Analytical Engines' });
  const email = uniqueEmail('grace');
  const link = await invitationLink(ctx, owner, email, 'admin');
  t.ok(link.startsWith(`${ctx.baseUrl}/invitations/accept?token=`));

  const context = await newContext(t, browser);
  const page = await context.newPage();
  const opened = await page.goto(link);
  t.match(opened!.headers()['content-security-policy'], /script-src 'self'/);
  await page.getByRole('heading', { name: 'Join Analytical Engines' }).waitFor();
  const shown = await text(page);
  for (const expected of ['Analytical Engines', 'Ada Lovelace', 'Admin', email]) t.match(shown, expected, `shows ${expected}`);
  await checkPage(t, page, 'invitation-1-newcomer');

  // Nothing typed: each field says what is wrong, tied to it, and focus goes to the summary.
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account and join' }).click();
  await page.locator('#field-name-error').waitFor();
  t.equal(await page.getAttribute('#field-name', 'aria-invalid'), 'true');
  t.match(await page.getAttribute('#field-name', 'aria-describedby'), 'field-name-error');
  t.match(await page.getAttribute('#field-password', 'aria-describedby'), 'field-password-error');
  t.match(await page.textContent('#field-password-error'), 'at least 8 characters');
  t.equal(await page.evaluate(() => document.activeElement?.id), 'form-alert', 'focus moves to what went wrong');
  t.equal(await memberRole(ctx, owner.workspaceId, email), undefined, 'nobody joined yet');
  await checkPage(t, page, 'invitation-2-newcomer-errors');

  await page.getByLabel('Your name').fill('Grace Hopper');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account and join' }).click();
  await page.getByRole('heading', { name: 'Welcome to Analytical Engines' }).waitFor();
  t.match(await text(page), 'as Admin');
  await checkPage(t, page, 'invitation-3-joined');
  t.equal(await memberRole(ctx, owner.workspaceId, email), 'admin', 'joined with the invited role');
  const me = await page.request.get(`${ctx.baseUrl}/v1/me`);
  t.equal(me.status(), 200, 'signed in by the page');
  t.equal((await me.json()).account.name, 'Grace Hopper');

  // The link again, from another browser: it was used.
  const later = await (await newContext(t, browser)).newPage();
  await later.goto(link);
  await later.getByRole('heading', { name: 'This invitation was already accepted' }).waitFor();
  await checkPage(t, later, 'invitation-4-used');
});

t.test('someone with an account signs in on the page and joins; a wrong password is said next to the field', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Difference Engines' });
  const existing = await signUpVerified(ctx, { name: 'Charles Babbage', workspaceName: 'Babbage Ltd' });
  const link = await invitationLink(ctx, owner, existing.email);

  const page = await (await newContext(t, browser)).newPage();
  await page.goto(link);
  await page.getByRole('heading', { name: 'Sign in to accept' }).waitFor();
  t.equal(await page.getByLabel('Email').inputValue(), existing.email, 'the invited address is filled in');
  await checkPage(t, page, 'invitation-5-sign-in');

  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in and join' }).click();
  await page.locator('#field-password-error').waitFor();
  t.match(await page.textContent('#field-password-error'), 'do not match');
  t.equal(await memberRole(ctx, owner.workspaceId, existing.email), undefined);
  await checkPage(t, page, 'invitation-6-sign-in-error');

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in and join' }).click();
  await page.getByRole('heading', { name: 'Welcome to Difference Engines' }).waitFor();
  t.equal(await memberRole(ctx, owner.workspaceId, existing.email), 'member');
  t.equal(await memberRole(ctx, existing.workspaceId, existing.email), 'owner', 'still owns their own workspace');
});

t.test('signed in as someone else: the mismatch page, then sign out and continue', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Jacquard Looms' });
  const other = await signUpVerified(ctx);
  const invitee = uniqueEmail('invitee');
  const link = await invitationLink(ctx, owner, invitee);

  const context = await newContext(t, browser);
  await context.addCookies([{ name: 'sid', value: other.cookie.slice('sid='.length), url: ctx.baseUrl }]);
  const page = await context.newPage();
  const opened = await page.goto(link);
  t.equal(opened!.status(), 403);
  await page.getByRole('heading', { name: 'This invitation is for another address' }).waitFor();
  const shown = await text(page);
  t.match(shown, other.email);
  t.match(shown, invitee);
  await checkPage(t, page, 'invitation-7-mismatch');

  await page.getByRole('button', { name: 'Sign out and continue' }).click();
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  t.equal((await page.request.get(`${ctx.baseUrl}/v1/me`)).status(), 401, 'signed out');
  t.equal(await memberRole(ctx, owner.workspaceId, other.email), undefined);
});

t.test('expired, revoked and unknown links each get their own page', async (t) => {
  const browser = await launchChromium(t);
  const ctx = await liveService(t);
  const owner = await signUpVerified(ctx);
  const page = await (await newContext(t, browser)).newPage();

  const expired = await invitationLink(ctx, owner, uniqueEmail('late'));
  await sql`update invitations set expires_at = now() - interval '1 minute'`.execute(ctx.runtime.db);
  t.equal((await page.goto(expired))!.status(), 410);
  await page.getByRole('heading', { name: 'This invitation has expired' }).waitFor();
  await checkPage(t, page, 'invitation-8-expired');

  const revokedEmail = uniqueEmail('revoked');
  const revoked = await invitationLink(ctx, owner, revokedEmail);
  const pending = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/invitations`, headers: { cookie: owner.cookie } })).json() as { id: string; email: string }[];
  const id = pending.find((i) => i.email === revokedEmail)!.id;
  t.equal((await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/invitations/${id}`, headers: { cookie: owner.cookie } })).statusCode, 204);
  await page.goto(revoked);
  await page.getByRole('heading', { name: 'This invitation was withdrawn' }).waitFor();
  await checkPage(t, page, 'invitation-9-revoked');

  await page.goto(`${ctx.baseUrl}/invitations/accept?token=${'x'.repeat(43)}`);
  await page.getByRole('heading', { name: 'This invitation link does not work' }).waitFor();
  await checkPage(t, page, 'invitation-10-unknown');
  await page.goto(`${ctx.baseUrl}/invitations/accept`);
  await page.getByRole('heading', { name: 'This invitation link does not work' }).waitFor();
});
