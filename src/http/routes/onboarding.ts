import { Type } from 'typebox';
import { iso } from '../presenters.js';
import { DateTime, memberRouteProblems, Nullable, NullableDateTime, problems, Uuid, WorkspaceParams } from '../schemas/common.js';
import type { OnboardingView } from '../../services/onboarding-service.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';
import { workspaceReadRoute } from './workspace-read.js';

const OnboardingStatus = Type.Enum(['in_progress', 'completed', 'closed'], { title: 'OnboardingStatus' });
const Onboarding = Type.Object(
  {
  status: OnboardingStatus,
  steps: Type.Array(Type.Object({ key: Type.String(), completed: Type.Boolean(), completedAt: NullableDateTime })),
  completedAt: NullableDateTime,
  currentStep: Nullable(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown()),
  version: Type.Integer(),
  updatedAt: DateTime,
  },
  { title: 'Onboarding', examples: [examples.onboarding] },
);
const StepParams = Type.Object({ id: Uuid, step: Type.String({ minLength: 1, maxLength: 64 }) });
const security = [{ sessionCookie: [] }];

function onboardingJson(view: OnboardingView) {
  return {
    ...view,
    steps: view.steps.map((s) => ({ ...s, completedAt: iso(s.completedAt) })),
    completedAt: iso(view.completedAt),
    updatedAt: iso(view.updatedAt),
  };
}

/** The setup wizard: resume, steps, auto-saved drafts, completion, and the cheap status check. */
export async function onboardingRoutes(app: App, { services, config, guards }: RouteDeps): Promise<void> {
  workspaceReadRoute(
    app,
    guards,
    '/v1/workspaces/:id/onboarding',
    {
      operationId: 'getOnboarding',
      tags: ['onboarding'],
      summary: 'Where onboarding stands: the resume call',
      description: 'Steps done, the current step, the auto-saved draft and its version: what a wizard needs to resume on any device.',
    },
    Onboarding,
    async (workspaceId, accountId) => onboardingJson(await services.onboarding.get(workspaceId, accountId)),
  );

  app.put(
    '/v1/workspaces/:id/onboarding/steps/:step',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'completeOnboardingStep',
        tags: ['onboarding'],
        summary: 'Mark a step done (idempotent); the last required step completes onboarding',
        description: 'Steps are those of ONBOARDING_STEPS (404 unknown_step otherwise); 409 when the workspace is closed.',
        security,
        params: StepParams,
        response: { 200: Onboarding, ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request) => onboardingJson(await services.onboarding.completeStep(request.params.id, request.accountId!, request.params.step)),
  );

  app.delete(
    '/v1/workspaces/:id/onboarding/steps/:step',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'uncompleteOnboardingStep',
        tags: ['onboarding'],
        summary: 'Un-mark a step while onboarding is not completed',
        description: '409 onboarding_completed once onboarding is complete.',
        security,
        params: StepParams,
        response: { 200: Onboarding, ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request) => onboardingJson(await services.onboarding.uncompleteStep(request.params.id, request.accountId!, request.params.step)),
  );

  app.patch(
    '/v1/workspaces/:id/onboarding/draft',
    {
      preHandler: guards.requireAccount,
      config: {
        rateLimit: {
          max: config.rateLimits.onboardingSavesPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (request) => request.accountId ?? request.ip,
        },
      },
      schema: {
        operationId: 'saveOnboardingDraft',
        tags: ['onboarding'],
        summary: 'Auto-save the draft with optimistic locking (send the version you last saw)',
        description:
          'Replaces the draft when `version` is the current one and answers the new version. A stale version answers 409 version_conflict with `current: {version, data, updatedAt, currentStep}`: take theirs, or re-save yours on their version. The client AutoSaver does this for you.',
        security,
        params: WorkspaceParams,
        body: Type.Object(
          { data: Type.Record(Type.String(), Type.Unknown()), currentStep: Type.Optional(Type.String({ maxLength: 64 })), version: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }) },
          { additionalProperties: false, examples: [{ data: { companySize: '11-50' }, currentStep: 'profile_complete', version: 3 }] },
        ),
        response: {
          200: Type.Object({ version: Type.Integer(), updatedAt: DateTime }, { examples: [{ version: 4, updatedAt: '2026-11-29T10:06:00.000Z' }] }),
          ...memberRouteProblems,
          ...problems(409),
        },
      },
    },
    async (request) => {
      const saved = await services.onboarding.saveDraft(request.params.id, request.accountId!, request.body);
      return { version: saved.version, updatedAt: iso(saved.updatedAt) };
    },
  );

  app.post(
    '/v1/workspaces/:id/onboarding/complete',
    {
      preHandler: guards.requireAccount,
      schema: {
        operationId: 'completeOnboarding',
        tags: ['onboarding'],
        summary: 'Complete onboarding (idempotent); 409 steps_incomplete lists missing steps',
        description: 'Completes onboarding once every required step is done; a second call answers the same.',
        security,
        params: WorkspaceParams,
        response: { 200: Onboarding, ...memberRouteProblems, ...problems(409) },
      },
    },
    async (request) => onboardingJson(await services.onboarding.complete(request.params.id, request.accountId!)),
  );

  app.get(
    '/v1/me/onboarding-status',
    {
      preHandler: guards.requireAccount,
      config: { responseHeaders: { 200: ['ETag'], 304: ['ETag'] } },
      schema: {
        operationId: 'getOnboardingStatuses',
        tags: ['onboarding'],
        summary: 'Onboarding status of each of my workspaces: cached, with an ETag (304 when unchanged)',
        description: 'The cheap poll for a frontend deciding whether to show the wizard: send the last ETag in If-None-Match to get 304 while nothing changed.',
        security,
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String({ maxLength: 200, description: 'The ETag of the last answer.' })) }),
        response: {
          200: Type.Object(
            { workspaces: Type.Array(Type.Object({ id: Uuid, status: OnboardingStatus })) },
            { examples: [{ workspaces: [{ id: examples.workspaceId, status: 'in_progress' }] }] },
          ),
          304: Type.Null(),
        },
      },
    },
    async (request, reply) => {
      const { workspaces, etag } = await services.onboarding.statuses(request.accountId!);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return { workspaces };
    },
  );
}
