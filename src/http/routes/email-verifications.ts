import { Type } from 'typebox';
import { verificationRequestLimit } from '../rate-limit-store.js';
import { Email, problems, Uuid } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';

/** Confirming an address, and asking for a new link. */
export async function emailVerificationRoutes(app: App, { services, config, guards }: RouteDeps): Promise<void> {
  app.post(
    '/v1/email-verifications/confirm',
    {
      config: { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 } },
      schema: {
        operationId: 'confirmEmailVerification',
        tags: ['registration'],
        summary: 'Confirm an email address with the token from the verification link; starts the trial',
        description:
          'The verification email links to APP_BASE_URL/verify-email?token=...; the frontend posts that token here. Confirming marks the account verified and starts the trial of every workspace it owns. A used or superseded token answers 400 invalid_token, an expired one 410.',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false, examples: [{ token: examples.token }] }),
        response: {
          200: Type.Object({ accountId: Uuid, emailVerified: Type.Literal(true) }, { examples: [{ accountId: examples.accountId, emailVerified: true }] }),
          ...problems(410),
        },
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
        operationId: 'resendEmailVerification',
        tags: ['registration'],
        summary: 'Send a new verification email; older links stop working',
        description: 'Queues a new verification email for the signed-in account. 409 already_verified once verified; 429 resend_too_soon (with Retry-After) within RESEND_COOLDOWN_SECONDS of the previous email.',
        security: [{ sessionCookie: [] }],
        response: { 202: Type.Object({ status: Type.Literal('sent') }, { examples: [{ status: 'sent' }] }), ...problems(409, 429) },
      },
    },
    async (request, reply) => {
      await services.verifications.resend(request.accountId!);
      return reply.code(202).send({ status: 'sent' as const });
    },
  );

  app.post(
    '/v1/email-verifications/requests',
    {
      config: { rateLimit: verificationRequestLimit(config.rateLimits.resendsPerMinute) },
      schema: {
        operationId: 'requestEmailVerification',
        tags: ['registration'],
        summary: 'Signed out: ask for a new verification link by address',
        description:
          'For someone whose link expired or was used and who cannot sign in yet. Always 202, whatever the address: a new verification email (older links stop working) goes out only when the address belongs to an account that is still unconfirmed, and not within RESEND_COOLDOWN_SECONDS of the previous one. The look-up runs in a job, so the answer reveals nothing. At most RATE_LIMIT_RESENDS_PER_MINUTE per IP and per address (429 rate_limited with Retry-After).',
        body: Type.Object({ email: Email }, { additionalProperties: false, examples: [{ email: 'ada@example.com' }] }),
        response: { 202: Type.Object({ status: Type.Literal('accepted') }, { examples: [{ status: 'accepted' }] }), ...problems(400, 429) },
      },
    },
    async (request, reply) => {
      await services.verifications.requestNewLink(request.body.email);
      return reply.code(202).send({ status: 'accepted' as const });
    },
  );
}
