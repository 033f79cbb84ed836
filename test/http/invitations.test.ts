import { sql } from 'kysely';
import t from 'tap';
import { hashToken } from '../../src/services/tokens.js';
import { testContext } from '../helpers/app.js';
import {
  acceptInvitation,
  concurrently,
  invite,
  latestToken,
  PASSWORD,
  sessionCookie,
  signUp,
  signUpVerified,
  statusCounts,
  uniqueEmail,
} from '../helpers/factories.js';
import { tokenFrom } from '../helpers/smtp.js';

const preview = (app: Parameters<typeof invite>[0], token: string) => app.inject({ method: 'GET', url: `/v1/invitations/${token}` });
const count = async (ctx: Awaited<ReturnType<typeof testContext>>, table: 'accounts' | 'workspaces' | 'onboarding_progress' | 'workspace_members') =>
  (await ctx.runtime.db.selectFrom(table).selectAll().execute()).length;

t.test('inviting a new address: email with the link, preview, and joining with a new verified account', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { name: 'Grace', workspaceName: 'Acme' });
  const email = uniqueEmail('newcomer');
  const response = await invite(ctx.app, owner, owner.workspaceId, email.toUpperCase());
  t.equal(response.statusCode, 201);
  const invitation = response.json();
  t.match(invitation, { id: String, email, role: 'member', status: 'pending', expiresAt: String, invitedBy: { accountId: owner.accountId, name: 'Grace' } });
  const days = (new Date(invitation.expiresAt).getTime() - Date.now()) / 86_400_000;
  t.ok(days > 6.9 && days <= 7, `INVITATION_TTL_SECONDS defaults to 7 days, got ${days}`);

  const token = await latestToken(ctx, email);
  const [mail] = ctx.smtp.to(email);
  t.match(mail!.subject, 'Grace invited you to Acme');
  t.match(mail!.text, `http://app.test/invitations/accept?token=${token}`);
  t.match(mail!.html, `href="http://app.test/invitations/accept?token=${token}"`);
  const stored = await ctx.runtime.db.selectFrom('invitations').select('token_hash').executeTakeFirstOrThrow();
  t.same(stored.token_hash, hashToken(token), 'only the hash is stored');

  const shown = await preview(ctx.app, token);
  t.equal(shown.statusCode, 200);
  t.match(shown.json(), { workspace: { id: owner.workspaceId, name: 'Acme' }, email, role: 'member', invitedBy: { name: 'Grace' }, accountExists: false });
  t.equal((await preview(ctx.app, token)).statusCode, 200, 'looking twice still works: nothing consumed');

  const [workspacesBefore, progressBefore] = [await count(ctx, 'workspaces'), await count(ctx, 'onboarding_progress')];
  const accepted = await acceptInvitation(ctx.app, { token, name: '  Newcomer ', password: PASSWORD });
  t.equal(accepted.statusCode, 201);
  t.match(accepted.json(), { workspace: { id: owner.workspaceId, name: 'Acme' }, role: 'member', accountId: String });
  t.equal(await count(ctx, 'workspaces'), workspacesBefore, 'no workspace for the invitee');
  t.equal(await count(ctx, 'onboarding_progress'), progressBefore, 'no onboarding for the invitee');

  const me = (await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: sessionCookie(accepted) } })).json();
  t.match(me.account, { email, name: 'Newcomer', emailVerified: true });
  t.match(me.workspaces, [{ id: owner.workspaceId, role: 'member' }]);
  t.equal(me.workspaces.length, 1);

  t.equal((await preview(ctx.app, token)).statusCode, 404, 'a used link answers 404');
  const actions = await ctx.runtime.db.selectFrom('audit_events').select('action').where('workspace_id', '=', owner.workspaceId).execute();
  t.ok(actions.some((a) => a.action === 'invitation.sent') && actions.some((a) => a.action === 'invitation.accepted'), 'audited');
});

t.test('inviting an existing account: sign in first, same address only, then just a membership', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Acme' });
  const teammate = await signUp(ctx.app, { workspaceName: 'Own workspace' }); // not verified yet
  const other = await signUp(ctx.app);
  t.equal((await invite(ctx.app, owner, owner.workspaceId, teammate.email, 'admin')).statusCode, 201);
  const token = await latestToken(ctx, teammate.email);
  t.equal((await preview(ctx.app, token)).json().accountExists, true);

  const signedOut = await acceptInvitation(ctx.app, { token });
  t.equal(signedOut.statusCode, 401);
  t.match(signedOut.json(), { code: 'sign_in_required' });
  const mismatch = await acceptInvitation(ctx.app, { token }, other.cookie);
  t.equal(mismatch.statusCode, 403);
  t.match(mismatch.json(), { code: 'invitation_email_mismatch' });
  t.equal((await preview(ctx.app, token)).statusCode, 200, 'still usable after both refusals');

  const [accountsBefore, workspacesBefore] = [await count(ctx, 'accounts'), await count(ctx, 'workspaces')];
  const accepted = await acceptInvitation(ctx.app, { token }, teammate.cookie);
  t.equal(accepted.statusCode, 200);
  t.same(accepted.json(), { workspace: { id: owner.workspaceId, name: 'Acme' }, role: 'admin' });
  t.equal(await count(ctx, 'accounts'), accountsBefore, 'no second account');
  t.equal(await count(ctx, 'workspaces'), workspacesBefore, 'no new workspace');

  const me = (await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: teammate.cookie } })).json();
  t.equal(me.account.emailVerified, true, 'accepting verified the address');
  t.same(me.workspaces.map((w: { id: string; role: string }) => [w.id, w.role]), [[teammate.workspaceId, 'owner'], [owner.workspaceId, 'admin']]);

  const again = await acceptInvitation(ctx.app, { token }, teammate.cookie);
  t.equal(again.statusCode, 200, 'accepting again is idempotent');
  t.same(again.json(), accepted.json());
});

t.test('a newcomer must give name and password', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const email = uniqueEmail();
  await invite(ctx.app, owner, owner.workspaceId, email);
  const token = await latestToken(ctx, email);
  const missing = await acceptInvitation(ctx.app, { token });
  t.equal(missing.statusCode, 400);
  t.match(missing.json(), { code: 'validation_failed', errors: [{ field: 'name' }, { field: 'password' }] });
  t.equal((await acceptInvitation(ctx.app, { token, name: 'N', password: 'short' })).statusCode, 400);
  t.equal((await preview(ctx.app, token)).statusCode, 200, 'still usable');
});

t.test('expired invitations answer 410, and the address can be invited again', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const email = uniqueEmail();
  await invite(ctx.app, owner, owner.workspaceId, email);
  const token = await latestToken(ctx, email);
  await sql`update invitations set expires_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  const shown = await preview(ctx.app, token);
  t.equal(shown.statusCode, 410);
  t.match(shown.json(), { code: 'invitation_expired' });
  t.equal((await acceptInvitation(ctx.app, { token, name: 'N', password: PASSWORD })).statusCode, 410);
  const listed = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/invitations`, headers: { cookie: owner.cookie } });
  t.same(listed.json(), [], 'expired invitations are not pending');
  t.equal((await invite(ctx.app, owner, owner.workspaceId, email)).statusCode, 201, 'a new invitation replaces the expired one');
});

t.test('revoking: 204, the link answers 404, the list no longer has it', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const email = uniqueEmail();
  const { id } = (await invite(ctx.app, owner, owner.workspaceId, email)).json();
  const token = await latestToken(ctx, email);
  const revoke = () => ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/invitations/${id}`, headers: { cookie: owner.cookie } });
  t.equal((await revoke()).statusCode, 204);
  t.match((await preview(ctx.app, token)).json(), { code: 'invitation_not_found' });
  t.equal((await acceptInvitation(ctx.app, { token, name: 'N', password: PASSWORD })).statusCode, 404);
  t.equal((await revoke()).statusCode, 404, 'nothing left to revoke');
  const listed = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/invitations`, headers: { cookie: owner.cookie } });
  t.same(listed.json(), []);
});

t.test('resending: cooldown, a new token that replaces the old, and no double send', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '60' } });
  const owner = await signUp(ctx.app);
  const email = uniqueEmail();
  const { id } = (await invite(ctx.app, owner, owner.workspaceId, email)).json();
  const first = await latestToken(ctx, email);
  const resend = () => ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/invitations/${id}/resend`, headers: { cookie: owner.cookie } });

  const tooSoon = await resend();
  t.equal(tooSoon.statusCode, 429);
  t.match(tooSoon.json(), { code: 'resend_too_soon' });
  t.ok(Number(tooSoon.headers['retry-after']) > 0, 'Retry-After');

  await sql`update invitations set sent_at = now() - interval '61 seconds'`.execute(ctx.runtime.db);
  const resent = await resend();
  t.equal(resent.statusCode, 200);
  t.equal((await preview(ctx.app, first)).statusCode, 404, 'the old link stopped working at once');
  const second = await latestToken(ctx, email);
  t.not(second, first);
  await ctx.runJobs();
  t.equal(ctx.smtp.to(email).length, 2, 'one email per send, none twice');
  t.equal((await acceptInvitation(ctx.app, { token: second, name: 'N', password: PASSWORD })).statusCode, 201);
});

t.test('inviting a member answers 409 already_member; a pending address 409 invitation_pending with its id', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const self = await invite(ctx.app, owner, owner.workspaceId, owner.email.toUpperCase());
  t.equal(self.statusCode, 409);
  t.match(self.json(), { code: 'already_member' });
  const email = uniqueEmail();
  const { id } = (await invite(ctx.app, owner, owner.workspaceId, email)).json();
  const again = await invite(ctx.app, owner, owner.workspaceId, email);
  t.equal(again.statusCode, 409);
  t.match(again.json(), { code: 'invitation_pending', invitationId: id });
});

t.test('twenty simultaneous accepts of one token: one account, one membership, no 500', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const email = uniqueEmail();
  await invite(ctx.app, owner, owner.workspaceId, email);
  const token = await latestToken(ctx, email);
  const responses = await concurrently(20, () => acceptInvitation(ctx.app, { token, name: 'N', password: PASSWORD }));
  const counts = statusCounts(responses);
  t.equal(counts[201], 1, 'one newcomer account');
  t.notOk(counts[500], 'no 500');
  t.equal((counts[201] ?? 0) + (counts[401] ?? 0), 20, 'the others are told to sign in');
  const members = await ctx.runtime.db.selectFrom('workspace_members').select('account_id').where('workspace_id', '=', owner.workspaceId).execute();
  t.equal(members.length, 2, 'owner and one newcomer');
});

t.test('twenty simultaneous accepts by the signed-in invitee: all 200, one membership', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const teammate = await signUp(ctx.app);
  await invite(ctx.app, owner, owner.workspaceId, teammate.email);
  const token = tokenFrom((await ctx.runJobs(), ctx.smtp.to(teammate.email).at(-1))!);
  const responses = await concurrently(20, () => acceptInvitation(ctx.app, { token }, teammate.cookie));
  t.same(statusCounts(responses), { 200: 20 });
  const members = await ctx.runtime.db.selectFrom('workspace_members').select('account_id').where('workspace_id', '=', owner.workspaceId).execute();
  t.equal(members.length, 2);
  const accepted = await ctx.runtime.db.selectFrom('audit_events').select('id').where('action', '=', 'invitation.accepted').execute();
  t.equal(accepted.length, 1, 'accepted once');
});
