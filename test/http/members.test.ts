import t from 'tap';
import { testContext } from '../helpers/app.js';
import { addMember, concurrently, signUp, statusCounts } from '../helpers/factories.js';

type Ctx = Awaited<ReturnType<typeof testContext>>;
const patchRole = (ctx: Ctx, actor: { cookie: string }, workspaceId: string, accountId: string, role: string) =>
  ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${workspaceId}/members/${accountId}`, headers: { cookie: actor.cookie }, payload: { role } });
const removeMember = (ctx: Ctx, actor: { cookie: string }, workspaceId: string, accountId: string) =>
  ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${workspaceId}/members/${accountId}`, headers: { cookie: actor.cookie } });

t.test('members are listed with name, email, role and join time', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app, { name: 'Owner' });
  const member = await addMember(ctx, owner, 'member');
  const response = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/members`, headers: { cookie: member.cookie } });
  t.equal(response.statusCode, 200);
  t.match(response.json(), [
    { accountId: owner.accountId, name: 'Owner', email: owner.email, role: 'owner', joinedAt: String },
    { accountId: member.accountId, email: member.email, role: 'member' },
  ]);
});

t.test('roles: admins manage members but not owners; owners manage everyone', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const admin = await addMember(ctx, owner, 'admin');
  const member = await addMember(ctx, owner, 'member');
  const ws = owner.workspaceId;

  const promoted = await patchRole(ctx, admin, ws, member.accountId, 'admin');
  t.equal(promoted.statusCode, 200);
  t.match(promoted.json(), { accountId: member.accountId, role: 'admin' });
  t.match((await patchRole(ctx, admin, ws, member.accountId, 'owner')).json(), { code: 'forbidden' }, 'an admin cannot grant owner');
  t.equal((await patchRole(ctx, admin, ws, owner.accountId, 'member')).statusCode, 403, 'an admin cannot demote an owner');
  t.equal((await removeMember(ctx, admin, ws, owner.accountId)).statusCode, 403, 'an admin cannot remove an owner');
  t.equal((await patchRole(ctx, owner, ws, member.accountId, 'owner')).statusCode, 200, 'an owner grants owner');
  t.equal((await patchRole(ctx, member, ws, owner.accountId, 'admin')).statusCode, 200, 'the new owner demotes the first');
  t.equal((await removeMember(ctx, member, ws, admin.accountId)).statusCode, 204);
  const roles = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws}/members`, headers: { cookie: owner.cookie } })).json();
  t.same(roles.map((m: { accountId: string; role: string }) => [m.accountId, m.role]), [[owner.accountId, 'admin'], [member.accountId, 'owner']]);
  const actions = await ctx.runtime.db.selectFrom('audit_events').select(['action', 'data']).where('action', 'in', ['member.role_changed', 'member.removed']).execute();
  t.equal(actions.length, 4, 'each change audited');
});

t.test('a member may leave; removing an unknown member answers 404', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const member = await addMember(ctx, owner, 'member');
  const other = await signUp(ctx.app);
  t.equal((await removeMember(ctx, member, owner.workspaceId, member.accountId)).statusCode, 204, 'leaving');
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}`, headers: { cookie: member.cookie } })).statusCode, 404, 'gone');
  t.equal((await removeMember(ctx, owner, owner.workspaceId, other.accountId)).statusCode, 404);
});

t.test('the last owner can neither be demoted nor leave', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const demote = await patchRole(ctx, owner, owner.workspaceId, owner.accountId, 'admin');
  t.equal(demote.statusCode, 409);
  t.match(demote.json(), { code: 'last_owner' });
  t.equal((await removeMember(ctx, owner, owner.workspaceId, owner.accountId)).json().code, 'last_owner');
});

t.test('two owners demoting or removing each other at the same moment leave one owner', async (t) => {
  const ctx = await testContext(t);
  for (const action of ['demote', 'remove'] as const) {
    const first = await signUp(ctx.app);
    const second = await addMember(ctx, first, 'owner');
    const change = (actor: typeof first, target: typeof first) =>
      action === 'demote' ? patchRole(ctx, actor, first.workspaceId, target.accountId, 'member') : removeMember(ctx, actor, first.workspaceId, target.accountId);
    const responses = await Promise.all([change(first, second), change(second, first)]);
    const counts = statusCounts(responses);
    t.equal((counts[200] ?? 0) + (counts[204] ?? 0), 1, `${action}: exactly one succeeds`);
    t.notOk(counts[500], `${action}: no 500`);
    const owners = await ctx.runtime.db.selectFrom('workspace_members').select('account_id').where('workspace_id', '=', first.workspaceId).where('role', '=', 'owner').execute();
    t.equal(owners.length, 1, `${action}: one owner remains`);
  }
  const owner = await signUp(ctx.app);
  // One at a time: each addMember drains the job queue and reads its own email.
  const everyone = [owner, await addMember(ctx, owner, 'owner'), await addMember(ctx, owner, 'owner')];
  await concurrently(3, (i) => patchRole(ctx, everyone[i]!, owner.workspaceId, everyone[(i + 1) % 3]!.accountId, 'member'));
  const owners = await ctx.runtime.db.selectFrom('workspace_members').select('account_id').where('workspace_id', '=', owner.workspaceId).where('role', '=', 'owner').execute();
  t.ok(owners.length >= 1, 'three owners demoting in a ring keep at least one');
});
