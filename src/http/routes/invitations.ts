import { Type } from 'typebox';
import { invitationJson, invitationPreviewJson } from '../presenters.js';
import { Email, Invitation, memberRouteProblems, Nullable, Password, PersonName, problems, Role, Uuid, WorkspaceParams } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';

const InvitationParams = Type.Object({ id: Uuid, invitationId: Uuid });
const security = [{ sessionCookie: [] }];

/** Inviting teammates, and accepting an invitation (with or without an account). */
export async function invitationRoutes(app: App, { services, config, guards, cookies }: RouteDeps): Promise<void> {
  const tokenRateLimit = { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 } };

  app.post(
    '/v1/workspaces/:id/invitations',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'createInvitation',
        tags: ['invitations'],
        summary: 'Invite someone by email (owners and admins; only owners invite owners)',
        description: 'Emails an invitation link (APP_BASE_URL/invitations/accept?token=...) valid for INVITATION_TTL_SECONDS; the role defaults to member. 409 when the address is already a member or has a pending invitation.',
        security,
        params: WorkspaceParams,
        body: Type.Object({ email: Email, role: Type.Optional(Role) }, { additionalProperties: false, examples: [{ email: 'grace@example.com', role: 'member' }] }),
        response: { 201: Invitation, ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request, reply) => {
      const { email, role = 'member' } = request.body;
      const invitation = await services.invitations.invite(request.params.id, request.accountId!, { email, role });
      return reply.code(201).send(invitationJson(invitation));
    },
  );

  app.get(
    '/v1/workspaces/:id/invitations',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'listInvitations',
        tags: ['invitations'],
        summary: 'Pending invitations (owners and admins)',
        description: 'Invitations not yet accepted, revoked or expired, newest first.',
        security,
        params: WorkspaceParams,
        response: { 200: Type.Array(Invitation, { examples: [[examples.invitation]] }), ...memberRouteProblems },
      },
    },
    async (request) => (await services.invitations.listPending(request.params.id, request.accountId!)).map(invitationJson),
  );

  app.post(
    '/v1/workspaces/:id/invitations/:invitationId/resend',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'resendInvitation',
        tags: ['invitations'],
        summary: 'Send the invitation again with a new link (the old one stops working) and a fresh expiry',
        description: 'Owners and admins; 429 with Retry-After within RESEND_COOLDOWN_SECONDS of the previous email.',
        security,
        params: InvitationParams,
        response: { 200: Invitation, ...memberRouteProblems, ...problems(429) },
      },
    },
    async (request) => invitationJson(await services.invitations.resend(request.params.id, request.accountId!, request.params.invitationId)),
  );

  app.delete(
    '/v1/workspaces/:id/invitations/:invitationId',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'revokeInvitation',
        tags: ['invitations'],
        summary: 'Revoke a pending invitation',
        description: 'Owners and admins; its link stops working at once.',
        security,
        params: InvitationParams,
        response: { 204: Type.Null(), ...memberRouteProblems },
      },
    },
    async (request, reply) => {
      await services.invitations.revoke(request.params.id, request.accountId!, request.params.invitationId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/invitations/:token',
    {
      config: tokenRateLimit,
      schema: {
        operationId: 'previewInvitation',
        tags: ['invitations'],
        summary: 'Preview an invitation from its link (no session needed; looking never consumes it)',
        description: 'What the acceptance page shows: the workspace, who invited, the role, and whether an account with the invited address exists (then the page asks to sign in first).',
        params: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: {
          200: Type.Object({
            workspace: Type.Object({ id: Uuid, name: Type.String() }),
            email: Type.String(),
            role: Role,
            invitedBy: Type.Object({ name: Nullable(Type.String()) }),
            expiresAt: Type.String({ format: 'date-time' }),
            accountExists: Type.Boolean(),
          }, {
            examples: [{
              workspace: { id: examples.workspaceId, name: 'Acme' },
              email: 'grace@example.com',
              role: 'member',
              invitedBy: { name: 'Ada' },
              expiresAt: '2026-12-06T10:00:00.000Z',
              accountExists: false,
            }],
          }),
          ...problems(404, 410, 429),
        },
      },
    },
    async (request) => invitationPreviewJson(await services.invitations.preview(request.params.token)),
  );

  app.post(
    '/v1/invitations/accept',
    {
      preHandler: guards.optionalAccount,
      config: { ...tokenRateLimit, setsCookie: true },
      schema: {
        operationId: 'acceptInvitation',
        tags: ['invitations'],
        summary: 'Accept an invitation: signed in as the invited address, or as a newcomer with name and password',
        description: 'Signed in: 200. Newcomer: creates a verified account and a session, 201. An existing account must sign in first (401 sign_in_required).',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), name: Type.Optional(PersonName()), password: Type.Optional(Password) },
          {
            additionalProperties: false,
            examples: [{ token: examples.token, name: 'Grace', password: 'another long passphrase' }, { token: examples.token }],
          },
        ),
        security: [{}, { sessionCookie: [] }],
        response: {
          200: Type.Object(
            { workspace: Type.Object({ id: Uuid, name: Type.String() }), role: Role },
            { description: 'Accepted by the signed-in account.', examples: [{ workspace: { id: examples.workspaceId, name: 'Acme' }, role: 'member' }] },
          ),
          201: Type.Object(
            { workspace: Type.Object({ id: Uuid, name: Type.String() }), role: Role, accountId: Uuid },
            { description: 'A newcomer: the account was created (verified) and signed in.', examples: [{ workspace: { id: examples.workspaceId, name: 'Acme' }, role: 'member', accountId: examples.teammateId }] },
          ),
          ...problems(401, 403, 404, 410),
        },
      },
    },
    async (request, reply) => {
      const { token, name, password } = request.body;
      const result = await services.invitations.accept({ token, name, password, accountId: request.accountId });
      if (!result.created) return { workspace: result.workspace, role: result.role };
      cookies.set(reply, result.session!);
      return reply.code(201).send({ workspace: result.workspace, role: result.role, accountId: result.accountId });
    },
  );
}
