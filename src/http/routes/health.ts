import { Type } from 'typebox';
import type { App, RouteDeps } from '../types.js';

/** Liveness and readiness for the orchestrator. */
export async function healthRoutes(app: App, { services }: RouteDeps): Promise<void> {
  const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });
  app.get(
    '/healthz',
    {
      config: { rateLimit: false, database: false },
      schema: {
        operationId: 'checkLiveness',
        tags: ['health'],
        summary: 'Liveness: the process answers',
        description: 'Always 200 while the process runs; it does not touch the database, so a database outage does not restart the service.',
        response: { 200: Type.Object(Status.properties, { examples: [{ status: 'ok' }] }) },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        operationId: 'checkReadiness',
        tags: ['health'],
        summary: 'Readiness: the database answers',
        description: 'Whether this instance can serve requests: 200 when the database answers, 503 with a reason otherwise.',
        response: {
          200: Type.Object(Status.properties, { examples: [{ status: 'ready' }] }),
          503: Type.Object(Status.properties, { description: 'Not ready; `reason` says why.', examples: [{ status: 'not_ready', reason: 'database unreachable' }] }),
        },
      },
    },
    async (_request, reply) => {
      const { ready, reason } = await services.health.readiness();
      return reply.code(ready ? 200 : 503).send(ready ? { status: 'ready' } : { status: 'not_ready', reason });
    },
  );
}
