import { Type } from 'typebox';
import { iso } from '../presenters.js';
import { DateTime, problems } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';

const security = [{ adminToken: [] }];

/** The back office, behind the admin bearer token (a session cookie never works here). */
export async function adminRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.get(
    '/v1/admin/onboarding/funnel',
    {
      preHandler: guards.requireAdmin,
      schema: {
        tags: ['admin'],
        summary: 'Onboarding drop-off funnel for workspaces created in [from, to) (default: last 30 days)',
        security,
        querystring: Type.Object({ from: Type.Optional(DateTime), to: Type.Optional(DateTime) }),
        response: {
          200: Type.Object({
            from: DateTime,
            to: DateTime,
            registered: Type.Integer(),
            ownerVerified: Type.Integer(),
            steps: Type.Record(Type.String(), Type.Integer()),
            completed: Type.Integer(),
          }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const funnel = await services.admin.funnel({ from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined });
      return { ...funnel, from: iso(funnel.from), to: iso(funnel.to) };
    },
  );
}
