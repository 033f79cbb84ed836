import { Type } from 'typebox';
import { problems, Uuid } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';

/** Confirming an address, and asking for a new link. */
export async function emailVerificationRoutes(app: App, { services, config, guards }: RouteDeps): Promise<void> {
  app.post(
    '/v1/email-verifications/confirm',
    {
      config: { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['registration'],
        summary: 'Confirm an email address with the token from the verification link; starts the trial',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ accountId: Uuid, emailVerified: Type.Literal(true) }), ...problems(400, 410, 429) },
      },
    },
    async (request) => {
      const { accountId } = await services.verifications.confirm(request.body.token);
      return { accountId, emailVerified: true as const };
    },
  );

  app.post(
    '/v1/email-verifications/resend',
    {
      preHandler: guards.requireAccount,
      config: { rateLimit: { max: config.rateLimits.resendsPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['registration'],
        summary: 'Send a new verification email; older links stop working',
        security: [{ sessionCookie: [] }],
        response: { 202: Type.Object({ status: Type.Literal('sent') }), ...problems(401, 409, 429) },
      },
    },
    async (request, reply) => {
      await services.verifications.resend(request.accountId!);
      return reply.code(202).send({ status: 'sent' as const });
    },
  );
}
