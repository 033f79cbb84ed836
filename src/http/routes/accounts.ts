import { Type } from 'typebox';
import { Account, Membership, problems, WorkspaceParams } from '../schemas/common.js';
import { accountJson, membershipJson } from '../presenters.js';
import type { App, RouteDeps } from '../types.js';

/** The signed-in account and its workspaces. */
export async function accountRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.get(
    '/v1/me',
    {
      preHandler: guards.requireAccount,
      schema: {
        tags: ['sessions'],
        summary: 'The signed-in account and every workspace it belongs to',
        security: [{ sessionCookie: [] }],
        response: { 200: Type.Object({ account: Account, workspaces: Type.Array(Membership) }), ...problems(401) },
      },
    },
    async (request) => {
      const me = await services.accounts.me(request.accountId!);
      return { account: accountJson(me.account), workspaces: me.workspaces.map(membershipJson) };
    },
  );

  app.get(
    '/v1/workspaces/:id',
    {
      preHandler: guards.requireAccount,
      schema: {
        tags: ['workspaces'],
        summary: 'A workspace, for its members (404 for everyone else)',
        security: [{ sessionCookie: [] }],
        params: WorkspaceParams,
        response: { 200: Membership, ...problems(400, 401, 404) },
      },
    },
    async (request) => membershipJson(await services.workspaces.getForMember(request.params.id, request.accountId!)),
  );
}
