import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { signUp } from '../helpers/factories.js';

t.test('GET /v1/workspaces/:id: members see it; non-members and unknown ids get the same 404', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app, { workspaceName: 'Acme' });
  const stranger = await signUp(ctx.app);
  const get = (id: string, cookie: string) => ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${id}`, headers: { cookie } });

  const own = await get(owner.workspaceId, owner.cookie);
  t.equal(own.statusCode, 200);
  t.match(own.json(), { id: owner.workspaceId, name: 'Acme', role: 'owner', trialState: 'pending_verification' });

  const foreign = await get(owner.workspaceId, stranger.cookie);
  const unknown = await get(randomUUID(), stranger.cookie);
  t.equal(foreign.statusCode, 404);
  t.equal(unknown.statusCode, 404);
  t.same(foreign.json(), unknown.json(), 'existence is not revealed');
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}` })).statusCode, 401);
  t.equal((await get('not-a-uuid', owner.cookie)).statusCode, 400);
});

t.test('trialState follows trial_ends_at: pending, active, expired', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const state = async () =>
    (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}`, headers: { cookie: owner.cookie } })).json().trialState;
  t.equal(await state(), 'pending_verification');
  await sql`update workspaces set trial_ends_at = now() + interval '1 day'`.execute(ctx.runtime.db);
  t.equal(await state(), 'active');
  await sql`update workspaces set trial_ends_at = now() - interval '1 second'`.execute(ctx.runtime.db);
  t.equal(await state(), 'expired');
});
