import { Type } from 'typebox';
import { Account, Email, Password, problems, TrimmedString, Workspace } from '../schemas/common.js';
import { accountJson, workspaceJson } from '../presenters.js';
import type { App, RouteDeps } from '../types.js';

const RegistrationBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: TrimmedString(1, 100, 'Your name.'),
    workspaceName: TrimmedString(1, 100, 'The name of the new workspace.'),
  },
  { additionalProperties: false },
);

/** Sign-up. */
export async function registrationRoutes(app: App, { services, config, cookies }: RouteDeps): Promise<void> {
  app.post(
    '/v1/registrations',
    {
      config: { rateLimit: { max: config.rateLimits.registrationsPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['registration'],
        summary: 'Sign up: creates the account, its workspace and a session in one step',
        description:
          'Send an `Idempotency-Key` header to make retries safe: the same key and body within 24 hours replay the first answer.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
        body: RegistrationBody,
        response: { 201: Type.Object({ account: Account, workspace: Workspace }), ...problems(400, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const result = await services.registrations.register(request.body, request.headers['idempotency-key']);
      cookies.set(reply, result.session);
      return reply.code(201).send({ account: accountJson(result.account), workspace: workspaceJson(result.workspace) });
    },
  );
}
