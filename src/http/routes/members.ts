import { Type } from 'typebox';
import { memberJson } from '../presenters.js';
import { Member, memberRouteProblems, problems, Role, Uuid, WorkspaceParams } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';

const MemberParams = Type.Object({ id: Uuid, accountId: Uuid });
const security = [{ sessionCookie: [] }];

/** Workspace members: list, change roles, remove or leave. */
export async function memberRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.get(
    '/v1/workspaces/:id/members',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'listMembers',
        tags: ['members'],
        summary: 'Members of the workspace',
        description: 'Every member with their role, oldest first; any member may list them.',
        security,
        params: WorkspaceParams,
        response: { 200: Type.Array(Member, { examples: [[examples.member]] }), ...memberRouteProblems },
      },
    },
    async (request) => (await services.members.list(request.params.id, request.accountId!)).map(memberJson),
  );

  app.patch(
    '/v1/workspaces/:id/members/:accountId',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'changeMemberRole',
        tags: ['members'],
        summary: "Change a member's role (owners and admins; only owners touch the owner role; the last owner stays)",
        description: '409 last_owner when the change would leave the workspace without an owner.',
        security,
        params: MemberParams,
        body: Type.Object({ role: Role }, { additionalProperties: false, examples: [{ role: 'admin' }] }),
        response: { 200: Member, ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request) => memberJson(await services.members.changeRole(request.params.id, request.accountId!, request.params.accountId, request.body.role)),
  );

  app.delete(
    '/v1/workspaces/:id/members/:accountId',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'removeMember',
        tags: ['members'],
        summary: 'Remove a member, or leave (your own account id); the last owner cannot go',
        description: 'Owners and admins remove others (only owners remove owners); anyone may leave. 409 last_owner for the last owner.',
        security,
        params: MemberParams,
        response: { 204: Type.Null(), ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request, reply) => {
      await services.members.remove(request.params.id, request.accountId!, request.params.accountId);
      return reply.code(204).send(null);
    },
  );
}
