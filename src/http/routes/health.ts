import { Type } from 'typebox';
import type { App, RouteDeps } from '../types.js';

/** Liveness and readiness for the orchestrator. */
export async function healthRoutes(app: App, { services }: RouteDeps): Promise<void> {
  const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });
  app.get('/healthz', { config: { rateLimit: false }, schema: { tags: ['health'], response: { 200: Status } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { config: { rateLimit: false }, schema: { tags: ['health'], response: { 200: Status, 503: Status } } },
    async (_request, reply) => {
      const { ready, reason } = await services.health.readiness();
      return reply.code(ready ? 200 : 503).send(ready ? { status: 'ready' } : { status: 'not_ready', reason });
    },
  );
}
