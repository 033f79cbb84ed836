import type { TSchema } from 'typebox';
import type { Guards } from '../auth.js';
import { memberRouteProblems, WorkspaceParams } from '../schemas/common.js';
import type { App } from '../types.js';

/** What the OpenAPI document says of a workspace read. */
export interface WorkspaceReadDoc {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
}

/**
 * A signed-in read of one workspace's resource: `GET path` with the workspace id, the account guard,
 * the member problems (the service decides 403/404 by role), and `read`'s answer as the 200 body.
 */
export function workspaceReadRoute(app: App, guards: Guards, path: string, doc: WorkspaceReadDoc, body: TSchema, read: (workspaceId: string, accountId: string) => Promise<unknown>): void {
  app.get(
    path,
    {
      preHandler: guards.requireAccount,
      schema: { ...doc, security: [{ sessionCookie: [] }], params: WorkspaceParams, response: { 200: body, ...memberRouteProblems } },
    },
    async (request) => read((request.params as { id: string }).id, request.accountId!),
  );
}
