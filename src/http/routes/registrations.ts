import { Type } from 'typebox';
import { Account, Email, IdempotencyKey, Password, PersonName, problems, SingleLine, Workspace } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import { accountJson, workspaceJson } from '../presenters.js';
import type { App, RouteDeps } from '../types.js';

const RegistrationBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: PersonName('Your name.'),
    workspaceName: SingleLine(1, 100, 'The name of the new workspace.'),
  },
  { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery', name: 'Ada', workspaceName: 'Acme' }] },
);

/** Sign-up. */
export async function registrationRoutes(app: App, { services, config, cookies }: RouteDeps): Promise<void> {
  app.post(
    '/v1/registrations',
    {
      config: { rateLimit: { max: config.rateLimits.registrationsPerMinute, timeWindow: 60_000 }, setsCookie: true },
      schema: {
        operationId: 'register',
        tags: ['registration'],
        summary: 'Sign up: creates the account, its workspace and a session in one step',
        description:
          'Creates the account, its first workspace (owner, onboarding progress, initialisation job) and a session cookie, and emails a verification link; the trial starts at verification. ' +
          'Send an `Idempotency-Key` header to make retries safe: the same key and body within 24 hours replay the first answer. 409 email_taken when the address has an account.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
        body: RegistrationBody,
        response: {
          201: Type.Object(
            { account: Account, workspace: Workspace },
            { examples: [{ account: { ...examples.account, emailVerified: false }, workspace: { ...examples.workspace, trialEndsAt: null, trialState: 'pending_verification', initializedAt: null } }] },
          ),
          ...problems(409, 422),
        },
      },
    },
    async (request, reply) => {
      const result = await services.registrations.register(request.body, request.headers['idempotency-key']);
      cookies.set(reply, result.session);
      return reply.code(201).send({ account: accountJson(result.account), workspace: workspaceJson(result.workspace) });
    },
  );
}
