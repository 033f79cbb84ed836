import { Type } from 'typebox';
import { Account, Membership, problems, WorkspaceParams } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import { accountJson, membershipJson } from '../presenters.js';
import type { App, RouteDeps } from '../types.js';

/** The signed-in account and its workspaces. */
export async function accountRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.get(
    '/v1/me',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'getMe',
        tags: ['sessions'],
        summary: 'The signed-in account and every workspace it belongs to',
        description: 'Who is signed in, and each workspace they belong to with their role in it (oldest membership first). A frontend calls it at start to know whether a session exists.',
        security: [{ sessionCookie: [] }],
        response: {
          200: Type.Object({ account: Account, workspaces: Type.Array(Membership) }, { examples: [{ account: examples.account, workspaces: [examples.membership] }] }),
        },
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
        operationId: 'getWorkspace',
        tags: ['workspaces'],
        summary: 'A workspace, for its members (404 for everyone else)',
        description: 'The workspace with its plan, trial and initialisation state, and the caller\'s role. Non-members get 404, as for an unknown id, so ids reveal nothing.',
        security: [{ sessionCookie: [] }],
        params: WorkspaceParams,
        response: { 200: Membership, ...problems(404) },
      },
    },
    async (request) => membershipJson(await services.workspaces.getForMember(request.params.id, request.accountId!)),
  );
}
