import { normalizeIP } from '@fastify/rate-limit';
import { Type } from 'typebox';
import { SESSION_COOKIE } from '../auth.js';
import { perIpLimit } from '../rate-limit-store.js';
import { Email, problems, Uuid } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';

/** Sign-in and sign-out. */
export async function sessionRoutes(app: App, { services, config, cookies }: RouteDeps): Promise<void> {
  app.post(
    '/v1/sessions',
    {
      // Per IP across all addresses (credential stuffing); the route's own limit is per IP and address.
      onRequest: perIpLimit(app, 'sign-ins-per-ip', config.rateLimits.signInsPerIpPerMinute, 60_000),
      config: {
        rateLimit: {
          max: config.rateLimits.signInsPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          // An IPv6 client is keyed by its /64, which one host can fill with addresses.
          keyGenerator: (request) => `${normalizeIP(request.ip)}|${String((request.body as { email?: string }).email).toLowerCase()}`,
        },
        setsCookie: true,
      },
      schema: {
        operationId: 'signIn',
        tags: ['sessions'],
        summary: 'Sign in; sets the session cookie',
        description:
          'Checks the password and sets the `sid` cookie (HttpOnly, SameSite=Lax); a session cookie already held is replaced. 401 invalid_credentials says nothing about which part was wrong. ' +
          'Limited per IP and address, per IP across addresses, and per address from any IP: after too many wrong passwords within the hour, ' +
          'the address answers 429 `sign_in_locked` with Retry-After until the hour ends, even with the right password, and its owner is emailed.',
        body: Type.Object(
          { email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) },
          { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery' }] },
        ),
        response: { 200: Type.Object({ accountId: Uuid }, { examples: [{ accountId: examples.accountId }] }), ...problems(401, 429) },
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const session = await services.sessions.signIn(email, password, request.cookies[SESSION_COOKIE]);
      cookies.set(reply, session);
      return { accountId: session.accountId };
    },
  );

  app.delete(
    '/v1/sessions/current',
    {
      config: { setsCookie: true },
      schema: {
        operationId: 'signOut',
        tags: ['sessions'],
        summary: 'Sign out; clears the session cookie',
        description: 'Ends the session on every instance at once and clears the cookie; answers 204 even without a session.',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await services.sessions.signOut(token);
      cookies.clear(reply);
      return reply.code(204).send(null);
    },
  );
}
