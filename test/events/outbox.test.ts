import { sql } from 'kysely';
import t from 'tap';
import { EVENT_TYPES } from '../../src/services/events/catalogue.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { acceptInvitation, addMember, concurrently, invite, latestToken, PASSWORD, register, signUp, signUpVerified, uniqueEmail, type Owner } from '../helpers/factories.js';

const admin = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };

interface EventRow {
  id: string;
  type: string;
  workspace_id: string | null;
  sequence: string | null;
  data: Record<string, unknown>;
}

async function events(ctx: TestContext, where: { workspaceId?: string; type?: string } = {}): Promise<EventRow[]> {
  const { rows } = await sql<EventRow>`
    select id, type, workspace_id, sequence, data from events
    where (${where.workspaceId ?? null}::uuid is null or workspace_id = ${where.workspaceId ?? null}::uuid)
      and (${where.type ?? null}::text is null or type = ${where.type ?? null}::text)
    order by occurred_at, sequence`.execute(ctx.runtime.db);
  return rows;
}

const types = (rows: EventRow[]) => rows.map((row) => row.type);

/** Makes every commit that records an event of `type` fail: a change that fails at its very end. */
async function failCommitsRecording(ctx: TestContext, type: string): Promise<() => Promise<void>> {
  await sql`create or replace function test_fail_event() returns trigger language plpgsql as $$
    begin raise exception 'injected failure'; end $$`.execute(ctx.runtime.db);
  await sql.raw(`create constraint trigger test_fail_event after insert on events deferrable initially deferred
    for each row when (new.type = '${type}') execute function test_fail_event()`).execute(ctx.runtime.db);
  return async () => {
    await sql`drop trigger test_fail_event on events`.execute(ctx.runtime.db);
  };
}

t.test('every event type is emitted by its change, in the same transaction, without secrets', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app, { workspaceName: 'Acme' });
  t.same(types(await events(ctx, { workspaceId: owner.workspaceId })), ['account.registered', 'workspace.created', 'workspace.initialized'], 'registration: three events in its one statement');
  const token = await latestToken(ctx, owner.email);
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } })).statusCode, 200);
  const teammate = await addMember(ctx, owner, 'member');
  const patch = await ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/members/${teammate.accountId}`, headers: { cookie: owner.cookie }, payload: { role: 'admin' } });
  t.equal(patch.statusCode, 200);
  const removed = await ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${owner.workspaceId}/members/${teammate.accountId}`, headers: { cookie: owner.cookie } });
  t.equal(removed.statusCode, 204);
  for (const step of ['profile_complete', 'first_integration', 'first_data_import']) {
    const done = await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/onboarding/steps/${step}`, headers: { cookie: owner.cookie } });
    t.equal(done.statusCode, 200);
  }
  const extended = await ctx.app.inject({ method: 'POST', url: `/v1/admin/workspaces/${owner.workspaceId}/trial`, headers: admin, payload: { extendDays: 3, reason: 'call' } });
  t.equal(extended.statusCode, 200);
  await sql`update workspaces set trial_ends_at = now() + interval '1 day' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  await ctx.runtime.services.lifecycle.queueTrialEmails();
  await sql`update workspaces set trial_ends_at = now() - interval '1 hour' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  await ctx.runtime.services.lifecycle.queueTrialEmails();

  const abandoned = await signUp(ctx.app);
  await sql`update workspaces set created_at = now() - interval '30 days' where id = ${abandoned.workspaceId}`.execute(ctx.runtime.db);
  t.equal(await ctx.runtime.services.onboarding.closeAbandoned(), 1);
  const reopened = await ctx.app.inject({ method: 'POST', url: `/v1/admin/workspaces/${abandoned.workspaceId}/reopen`, headers: admin, payload: { reason: 'asked' } });
  t.equal(reopened.statusCode, 200);

  const acme = await events(ctx, { workspaceId: owner.workspaceId });
  t.same(types(acme), [
    'account.registered',
    'workspace.created',
    'workspace.initialized',
    'trial.started',
    'member.invited',
    'onboarding.step_completed', // invited_teammate, proved by the invitation
    'account.registered',
    'member.joined',
    'member.role_changed',
    'member.removed',
    'onboarding.step_completed',
    'onboarding.step_completed',
    'onboarding.step_completed',
    'onboarding.completed',
    'trial.extended',
    'trial.ending_soon',
    'trial.expired',
  ]);
  t.same(acme.map((row) => Number(row.sequence)), acme.map((_, i) => i + 1), 'numbered 1, 2, 3... in order, without gaps');
  t.same(types(await events(ctx, { workspaceId: abandoned.workspaceId })), ['account.registered', 'workspace.created', 'workspace.initialized', 'workspace.closed', 'workspace.reopened']);
  const verified = await events(ctx, { type: 'account.verified' });
  t.same(verified.map((row) => [row.workspace_id, row.sequence, row.data]), [[null, null, { accountId: owner.accountId, email: owner.email }]], 'an account event has no workspace and no sequence');

  const all = await events(ctx);
  // Sign-up leads and billing emit theirs in test/events/wiring.test.ts and test/http/stripe-webhooks.test.ts.
  const elsewhere = (type: string) => type === 'webhook.test' || type === 'signup.abandoned' || type.startsWith('billing.');
  t.same([...new Set(types(all))].sort(), EVENT_TYPES.filter((type) => !elsewhere(type)).sort(), 'every type of the catalogue was seen');
  const text = JSON.stringify(all);
  t.notOk(text.includes(PASSWORD), 'no password');
  t.notOk(text.includes(token), 'no token');
  t.notOk(/hash|password|token/i.test(all.map((row) => Object.keys(row.data).join(' ')).join(' ')), 'no secret-looking field');
  t.match(acme.find((row) => row.type === 'member.joined')!.data, { accountId: teammate.accountId, email: teammate.email, role: 'member' });
  t.match(acme.find((row) => row.type === 'trial.extended')!.data, { extendDays: 3, reason: 'call' });
});

t.test('a change that fails leaves no event, and a failed event leaves no change', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_STEP_EVENTS: 'none' } });
  const owner = await signUpVerified(ctx);
  const teammate = await addMember(ctx, owner, 'member');
  const before = (await events(ctx)).length;

  t.equal((await register(ctx.app, { email: owner.email })).statusCode, 409, 'a taken email');
  const lastOwner = await ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/members/${owner.accountId}`, headers: { cookie: owner.cookie }, payload: { role: 'member' } });
  t.equal(lastOwner.statusCode, 409, 'the last owner');
  t.equal((await invite(ctx.app, owner, owner.workspaceId, teammate.email)).statusCode, 409, 'already a member');
  t.equal((await events(ctx)).length, before, 'refused changes emit nothing');

  const cases: [string, () => Promise<{ statusCode: number }>, () => Promise<boolean>][] = [
    ['account.registered', () => register(ctx.app, { email: 'injected@example.com' }), async () => (await sql`select 1 from accounts where email = 'injected@example.com'`.execute(ctx.runtime.db)).rows.length === 0],
    ['member.invited', () => invite(ctx.app, owner, owner.workspaceId, 'invitee@example.com'), async () => (await sql`select 1 from invitations where email = 'invitee@example.com'`.execute(ctx.runtime.db)).rows.length === 0],
    [
      'member.role_changed',
      () => ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/members/${teammate.accountId}`, headers: { cookie: owner.cookie }, payload: { role: 'admin' } }),
      async () => (await sql<{ role: string }>`select role from workspace_members where account_id = ${teammate.accountId}`.execute(ctx.runtime.db)).rows[0]!.role === 'member',
    ],
    [
      'trial.extended',
      () => ctx.app.inject({ method: 'POST', url: `/v1/admin/workspaces/${owner.workspaceId}/trial`, headers: admin, payload: { extendDays: 5, reason: 'x' } }),
      async () => (await sql`select 1 from audit_events where action = 'trial.extended'`.execute(ctx.runtime.db)).rows.length === 0,
    ],
    [
      'onboarding.step_completed',
      () => ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/onboarding/steps/profile_complete`, headers: { cookie: owner.cookie } }),
      async () => (await sql<{ steps: string[] }>`select completed_steps as steps from onboarding_progress where workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db)).rows[0]!.steps.length === 0,
    ],
  ];
  for (const [type, change, unchanged] of cases) {
    const earlier = (await events(ctx, { type })).length;
    const restore = await failCommitsRecording(ctx, type);
    t.equal((await change()).statusCode, 500, `${type}: the change fails`);
    t.ok(await unchanged(), `${type}: nothing of the change remains`);
    t.equal((await events(ctx, { type })).length, earlier, `${type}: no new event`);
    await restore();
  }
  t.equal((await events(ctx)).length, before, 'still no new event at all');
});

t.test('the invited_teammate step is completed by the first invitation, in its transaction, once', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  t.equal((await invite(ctx.app, owner, owner.workspaceId, uniqueEmail())).statusCode, 201);
  const progress = await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/onboarding`, headers: { cookie: owner.cookie } });
  t.match(progress.json().steps.find((s: { key: string }) => s.key === 'invited_teammate'), { completed: true });
  t.equal((await invite(ctx.app, owner, owner.workspaceId, uniqueEmail())).statusCode, 201);
  const stepEvents = await events(ctx, { workspaceId: owner.workspaceId, type: 'onboarding.step_completed' });
  t.same(stepEvents.map((row) => row.data), [{ step: 'invited_teammate', accountId: null, byEvent: 'member.invited' }], 'completed once, by the first invitation');
  const invited = (await events(ctx, { workspaceId: owner.workspaceId, type: 'member.invited' }))[0]!;
  t.equal(Number(stepEvents[0]!.sequence), Number(invited.sequence) + 1, 'right after the event that proved it');
  const audit = await sql<{ data: unknown }>`select data from audit_events where action = 'onboarding.step_completed' and workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.same(audit.rows.map((row) => row.data), [{ step: 'invited_teammate', byEvent: 'member.invited' }]);

  // A failed invitation does not complete the step.
  const other = await signUpVerified(ctx);
  const restore = await failCommitsRecording(ctx, 'member.invited');
  t.equal((await invite(ctx.app, other, other.workspaceId, uniqueEmail())).statusCode, 500);
  await restore();
  const untouched = await sql<{ steps: string[] }>`select completed_steps as steps from onboarding_progress where workspace_id = ${other.workspaceId}`.execute(ctx.runtime.db);
  t.same(untouched.rows[0]!.steps, []);
});

t.test('without a mapping, an invitation completes no step; the API completes it as before', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_STEP_EVENTS: 'none' } });
  const owner = await signUpVerified(ctx);
  t.equal((await invite(ctx.app, owner, owner.workspaceId, uniqueEmail())).statusCode, 201);
  t.same(await events(ctx, { workspaceId: owner.workspaceId, type: 'onboarding.step_completed' }), []);
  const done = await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/onboarding/steps/invited_teammate`, headers: { cookie: owner.cookie } });
  t.equal(done.statusCode, 200);
  t.same((await events(ctx, { workspaceId: owner.workspaceId, type: 'onboarding.step_completed' })).map((row) => row.data), [{ step: 'invited_teammate', accountId: owner.accountId, byEvent: null }]);
});

t.test('a closed workspace gets no step from an event', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  await invite(ctx.app, owner, owner.workspaceId, uniqueEmail());
  t.same(await events(ctx, { workspaceId: owner.workspaceId, type: 'onboarding.step_completed' }), []);
});

t.test('concurrent changes in one workspace, on two instances, get distinct sequence numbers without gaps', async (t) => {
  const ctx = await testContext(t);
  const second = await ctx.secondInstance();
  const owner: Owner = await signUpVerified(ctx);
  const responses = await concurrently(16, (i) => invite(i % 2 ? second.app : ctx.app, owner, owner.workspaceId, uniqueEmail(`c${i}`)));
  t.ok(responses.every((r) => r.statusCode === 201));
  const rows = await events(ctx, { workspaceId: owner.workspaceId });
  const sequences = rows.map((row) => Number(row.sequence)).sort((a, b) => a - b);
  t.same(sequences, rows.map((_, i) => i + 1), '1..n, each once');
  t.equal(rows.filter((row) => row.type === 'member.invited').length, 16);
  const counter = await sql<{ last: string }>`select last_sequence as last from event_sequences where workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.equal(Number(counter.rows[0]!.last), rows.length, 'the counter matches the last number given');
});

t.test('an invitation accepted by a signed-in account emits member.joined and account.verified', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const existing = await signUp(ctx.app);
  t.equal((await invite(ctx.app, owner, owner.workspaceId, existing.email)).statusCode, 201);
  const token = await latestToken(ctx, existing.email);
  t.equal((await acceptInvitation(ctx.app, { token }, existing.cookie)).statusCode, 200);
  t.match((await events(ctx, { workspaceId: owner.workspaceId, type: 'member.joined' }))[0]!.data, { accountId: existing.accountId, email: existing.email });
  t.equal((await events(ctx, { type: 'account.verified' })).filter((row) => row.data.accountId === existing.accountId).length, 1);
  t.same(types(await events(ctx, { workspaceId: existing.workspaceId })).slice(-1), ['trial.started'], 'their own workspace trial started with the verification');
});

t.test('a step proved by a registration event is completed in the registration transaction', async (t) => {
  const ctx = await testContext(t, { env: { ONBOARDING_STEP_EVENTS: 'profile_complete:workspace.created' } });
  const owner = await signUp(ctx.app);
  t.same(types(await events(ctx, { workspaceId: owner.workspaceId })), ['account.registered', 'workspace.created', 'workspace.initialized', 'onboarding.step_completed']);
  const progress = await sql<{ steps: string[] }>`select completed_steps as steps from onboarding_progress where workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.same(progress.rows[0]!.steps, ['profile_complete']);
  const replayed = await register(ctx.app, { email: uniqueEmail() }, { 'idempotency-key': 'k-1' });
  t.equal(replayed.statusCode, 201, 'with an idempotency key too');
  t.same(types(await events(ctx, { workspaceId: replayed.json().workspace.id })), ['account.registered', 'workspace.created', 'workspace.initialized', 'onboarding.step_completed']);
});
