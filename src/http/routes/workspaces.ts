import { Type } from 'typebox';
import { membershipJson } from '../presenters.js';
import { IdempotencyKey, Membership, problems, SingleLine } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';

/** A signed-in account starts a workspace of its own. */
export async function workspaceRoutes(app: App, { services, guards, config }: RouteDeps): Promise<void> {
  app.post(
    '/v1/workspaces',
    {
      preHandler: guards.requireAccount,
      config: {
        responseHeaders: { 201: ['Location'] },
        // Per account (after the session guard): one account cannot create workspaces without end.
        rateLimit: { max: config.rateLimits.workspaceCreationsPerHour, timeWindow: 3_600_000, hook: 'preHandler', keyGenerator: (request) => request.accountId ?? request.ip },
      },
      schema: {
        operationId: 'createWorkspace',
        tags: ['workspaces'],
        summary: 'Create a workspace owned by the signed-in account',
        description:
          'Creates the workspace with the caller as owner, its onboarding progress and its initialisation job, on the first free plan. ' +
          'The trial starts now when the account is verified, else when it is verified. A teammate who joined by invitation starts their own workspace this way. ' +
          'Send an `Idempotency-Key` header to make retries safe: the same key and body from the same account within 24 hours replay the first answer. ' +
          'An account creates at most RATE_LIMIT_WORKSPACE_CREATIONS_PER_HOUR (default 20) workspaces an hour; past that, 429 with Retry-After.',
        security: [{ sessionCookie: [] }],
        headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
        body: Type.Object({ name: SingleLine(1, 100, 'The name of the new workspace.') }, { additionalProperties: false, examples: [{ name: 'Acme Labs' }] }),
        response: { 201: Membership, ...problems(422) },
      },
    },
    async (request, reply) => {
      const workspace = await services.workspaceCreation.create(request.accountId!, request.body.name, request.headers['idempotency-key']);
      return reply.code(201).header('location', `/v1/workspaces/${workspace.id}`).send(membershipJson(workspace));
    },
  );
}
