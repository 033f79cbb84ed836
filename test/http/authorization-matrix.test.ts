import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { addMember, invite, signUp, uniqueEmail, type Owner } from '../helpers/factories.js';

type Ctx = Awaited<ReturnType<typeof testContext>>;
type Actor = 'stranger' | 'member' | 'admin' | 'owner';

/** One workspace route: how to call it (preparing fresh targets first), and what each role gets. */
interface RouteCase {
  route: string;
  call(ctx: Ctx, ws: Owner, actor: Owner): Promise<{ statusCode: number }>;
  expect: Record<Actor, number>;
}

/** A fresh pending invitation in the workspace (so each call has its own target). */
async function pendingInvitation(ctx: Ctx, ws: Owner): Promise<string> {
  return (await invite(ctx.app, ws, ws.workspaceId, uniqueEmail('target'))).json().id;
}

const routes: RouteCase[] = [
  {
    route: 'GET /v1/workspaces/:id',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws.workspaceId}`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'GET /v1/workspaces/:id/members',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws.workspaceId}/members`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'PATCH /v1/workspaces/:id/members/:accountId',
    call: async (ctx, ws, actor) => {
      const target = await addMember(ctx, ws, 'member');
      return ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${ws.workspaceId}/members/${target.accountId}`, headers: { cookie: actor.cookie }, payload: { role: 'admin' } });
    },
    expect: { stranger: 404, member: 403, admin: 200, owner: 200 },
  },
  {
    route: 'DELETE /v1/workspaces/:id/members/:accountId (someone else)',
    call: async (ctx, ws, actor) => {
      const target = await addMember(ctx, ws, 'member');
      return ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.workspaceId}/members/${target.accountId}`, headers: { cookie: actor.cookie } });
    },
    expect: { stranger: 404, member: 403, admin: 204, owner: 204 },
  },
  {
    route: 'POST /v1/workspaces/:id/invitations',
    call: (ctx, ws, actor) => invite(ctx.app, actor, ws.workspaceId, uniqueEmail('invitee')),
    expect: { stranger: 404, member: 403, admin: 201, owner: 201 },
  },
  {
    route: 'POST /v1/workspaces/:id/invitations (role owner)',
    call: (ctx, ws, actor) => invite(ctx.app, actor, ws.workspaceId, uniqueEmail('invitee'), 'owner'),
    expect: { stranger: 404, member: 403, admin: 403, owner: 201 },
  },
  {
    route: 'GET /v1/workspaces/:id/invitations',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws.workspaceId}/invitations`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 403, admin: 200, owner: 200 },
  },
  {
    route: 'POST /v1/workspaces/:id/invitations/:invitationId/resend',
    call: async (ctx, ws, actor) => {
      const id = await pendingInvitation(ctx, ws);
      return ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${ws.workspaceId}/invitations/${id}/resend`, headers: { cookie: actor.cookie } });
    },
    expect: { stranger: 404, member: 403, admin: 200, owner: 200 },
  },
  {
    route: 'GET /v1/workspaces/:id/onboarding',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws.workspaceId}/onboarding`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'PUT /v1/workspaces/:id/onboarding/steps/:step',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${ws.workspaceId}/onboarding/steps/profile_complete`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'DELETE /v1/workspaces/:id/onboarding/steps/:step',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.workspaceId}/onboarding/steps/first_integration`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'PATCH /v1/workspaces/:id/onboarding/draft',
    call: async (ctx, ws, actor) => {
      const { version } = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${ws.workspaceId}/onboarding`, headers: { cookie: ws.cookie } })).json();
      return ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${ws.workspaceId}/onboarding/draft`, headers: { cookie: actor.cookie }, payload: { data: { by: 'matrix' }, version } });
    },
    expect: { stranger: 404, member: 200, admin: 200, owner: 200 },
  },
  {
    route: 'POST /v1/workspaces/:id/onboarding/complete (steps missing)',
    call: (ctx, ws, actor) => ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${ws.workspaceId}/onboarding/complete`, headers: { cookie: actor.cookie } }),
    expect: { stranger: 404, member: 409, admin: 409, owner: 409 },
  },
  {
    route: 'DELETE /v1/workspaces/:id/invitations/:invitationId',
    call: async (ctx, ws, actor) => {
      const id = await pendingInvitation(ctx, ws);
      return ctx.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws.workspaceId}/invitations/${id}`, headers: { cookie: actor.cookie } });
    },
    expect: { stranger: 404, member: 403, admin: 204, owner: 204 },
  },
];

t.test('every workspace route, every role: 404 to non-members, 403 to roles that may not act', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '0' } });
  const owner = await signUp(ctx.app);
  const actors: Record<Actor, Owner> = {
    owner,
    admin: await addMember(ctx, owner, 'admin'),
    member: await addMember(ctx, owner, 'member'),
    stranger: await signUp(ctx.app),
  };
  for (const { route, call, expect } of routes) {
    for (const actor of Object.keys(expect) as Actor[]) {
      const response = await call(ctx, owner, actors[actor]);
      t.equal(response.statusCode, expect[actor], `${route} as ${actor}`);
    }
  }
});

t.test('every workspace route answers 401 without a session and 404 for an unknown workspace', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const ghost = { ...owner, workspaceId: randomUUID() };
  for (const { route, call } of routes) {
    const signedOut = await call(ctx, owner, { ...owner, cookie: '' });
    t.equal(signedOut.statusCode, 401, `${route} signed out`);
  }
  for (const { route, call } of routes.filter((r) => !r.route.includes(':accountId') && !r.route.includes(':invitationId') && !r.route.includes('draft'))) {
    const unknown = await call(ctx, ghost, owner);
    t.equal(unknown.statusCode, 404, `${route} for an unknown workspace`);
  }
});
