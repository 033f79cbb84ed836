import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { COUNTRY_CODES } from '../../services/signup/signup-fields.js';
import { viewJson, type FlowView } from '../../services/signup/signup-flow-service.js';
import { accountJson, workspaceJson } from '../presenters.js';
import * as examples from '../schemas/examples.js';
import { Account, DateTime, Email, Nullable, NullableDateTime, Password, problems, Uuid, Workspace } from '../schemas/common.js';
import { SignupFields } from '../schemas/signup.js';
import { flowToken, signupFlowCookies } from '../signup-cookie.js';
import type { App, RouteDeps } from '../types.js';

const tags = ['signup-flows'];
const security = [{ signupFlowCookie: [] }];
const Section = <T extends Parameters<typeof Type.Object>[0]>(properties: T) => Nullable(Type.Object(properties));

const Profile = { firstName: Type.String(), lastName: Type.String() };
const Address = {
  line1: Type.String(),
  line2: Type.Optional(Type.String()),
  city: Type.String(),
  region: Type.Optional(Type.String()),
  postalCode: Type.String(),
  country: Type.String(),
};

const Flow = Type.Object(
  {
    id: Uuid,
    status: Type.Enum(['in_progress', 'completed', 'expired'], { type: 'string' }),
    currentStep: Nullable(Type.String(), { description: 'The first step not done yet; null when all are.' }),
    steps: Type.Array(Type.Object({ key: Type.String(), completed: Type.Boolean() })),
    requiredFields: Type.Array(Type.String()),
    missingFields: Type.Array(Type.String()),
    unverifiedFields: Type.Array(Type.String()),
    email: Nullable(Type.String()),
    emailVerified: Type.Boolean(),
    data: Type.Object({
      profile: Section(Profile),
      company: Section({ name: Type.String() }),
      address: Section(Address),
      plan: Section({ id: Type.String() }),
      paymentMethod: Type.Optional(Section({ id: Type.String(), brand: Type.String(), last4: Type.String(), expMonth: Type.Integer(), expYear: Type.Integer() })),
    }),
    marketingConsent: Type.Object({ granted: Type.Boolean(), textVersion: Nullable(Type.String()), at: NullableDateTime }),
    version: Type.Integer(),
    expiresAt: DateTime,
  },
  {
    examples: [
      {
        id: '0b7f6a52-3c1e-4f43-9a43-5d2f4b8a9e10',
        status: 'in_progress',
        currentStep: 'company',
        steps: [
          { key: 'email', completed: true },
          { key: 'profile', completed: true },
          { key: 'company', completed: false },
          { key: 'address', completed: false },
          { key: 'plan', completed: false },
        ],
        requiredFields: ['email', 'profile.firstName', 'profile.lastName', 'profile.password', 'company.name', 'address.line1', 'address.city', 'address.postalCode', 'address.country', 'plan.id'],
        missingFields: ['company.name', 'address.line1', 'address.city', 'address.postalCode', 'address.country', 'plan.id'],
        unverifiedFields: [],
        email: 'ada@example.com',
        emailVerified: true,
        data: { profile: { firstName: 'Ada', lastName: 'Lovelace' }, company: null, address: null, plan: null },
        marketingConsent: { granted: true, textVersion: 'v1', at: '2026-11-29T16:00:00.000Z' },
        version: 2,
        expiresAt: '2026-11-30T16:00:00.000Z',
      },
    ],
  },
);

const EmptyBody = Type.Object({}, { additionalProperties: false, description: 'An empty JSON object: every write is a JSON body, so a cross-site form cannot send it.', examples: [{}] });
/** What a completed sign-up became: the account (verified) and its workspace (trial running). */
const Completed = Type.Object(
  { account: Account, workspace: Workspace },
  { examples: [{ account: { ...examples.account, emailVerified: true }, workspace: { ...examples.workspace, trialState: 'active' } }] },
);
const Code = SignupFields.code;

const PatchBody = Type.Object(
  {
    version: Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'The version you last saw.' }),
    profile: Type.Optional(
      Type.Object(
        { firstName: SignupFields.firstName, lastName: SignupFields.lastName, password: Type.Optional(Password) },
        { additionalProperties: false, description: 'The password is hashed (argon2id) on arrival; send it once.' },
      ),
    ),
    company: Type.Optional(Type.Object({ name: SignupFields.companyName }, { additionalProperties: false })),
    address: Type.Optional(
      Type.Object(
        {
          line1: SignupFields.line1,
          line2: Type.Optional(SignupFields.line2),
          city: SignupFields.city,
          region: Type.Optional(SignupFields.region),
          postalCode: SignupFields.postalCode,
          country: Type.String({ enum: [...COUNTRY_CODES], description: 'ISO 3166-1 alpha-2, upper case.' }),
        },
        { additionalProperties: false },
      ),
    ),
    plan: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 50, description: 'A plan id from PLANS.' }) }, { additionalProperties: false })),
  },
  {
    additionalProperties: false,
    examples: [{ version: 2, company: { name: 'Analytical Engines' }, address: { line1: '1 Main St', city: 'Albany', region: 'NY', postalCode: '12207', country: 'US' }, plan: { id: 'trial' } }],
  },
);

/** The staged sign-up: start, resume, email code, auto-saved steps, completion, discard, other devices. */
export async function signupFlowRoutes(app: App, { services, config, cookies }: RouteDeps): Promise<void> {
  const flowCookies = signupFlowCookies(config.appBaseUrl.startsWith('https:'), config.hostedPages);
  const flows = services.signupFlows;
  const codeLimit = { max: config.rateLimits.signupCodesPerMinute, timeWindow: 60_000 };
  /** Every write moves the flow's expiry: the cookie's Max-Age follows. */
  const answer = (request: FastifyRequest, reply: FastifyReply, view: FlowView, status = 200) => {
    flowCookies.set(reply, { token: flowToken(request), expiresAt: view.expiresAt });
    return reply.code(status).send(viewJson(view));
  };

  app.post(
    '/v1/signup-flows',
    {
      config: { rateLimit: { max: config.rateLimits.signupFlowsPerMinute, timeWindow: 60_000 }, setsCookie: true },
      schema: {
        tags,
        operationId: 'startSignupFlow',
        summary: 'Start a staged sign-up; sets the signup_flow cookie',
        description:
          'The flow lives SIGNUP_FLOW_IDLE_SECONDS after its last write and at most SIGNUP_FLOW_MAX_SECONDS after its start; the cookie (HttpOnly, SameSite=Lax, path /v1/signup-flows) lives as long. Rate-limited per IP.',
        body: EmptyBody,
        response: { 201: Flow, ...problems(400, 415, 429) },
      },
    },
    async (_request, reply) => {
      const { flow, cookie } = await flows.start();
      flowCookies.set(reply, cookie);
      return reply.code(201).send(viewJson(flow));
    },
  );

  app.get(
    '/v1/signup-flows/current',
    {
      schema: {
        tags,
        operationId: 'getSignupFlow',
        summary: 'The whole state of my sign-up: what a frontend renders after a reload',
        description: 'Steps and their state, the fields still required, missing or unverified, the data saved so far and its version. Never a hash, a code or a password. A flow past its life answers 410 signup_flow_expired.',
        security,
        response: { 200: Flow, ...problems(401, 410) },
      },
    },
    async (request) => viewJson(await flows.get(flowToken(request))),
  );

  app.patch(
    '/v1/signup-flows/current',
    {
      preHandler: async (request) => {
        request.signupFlowId = await flows.flowIdFor(flowToken(request));
      },
      config: {
        rateLimit: { max: config.rateLimits.signupSavesPerMinute, timeWindow: 60_000, hook: 'preHandler', keyGenerator: (request) => request.signupFlowId ?? request.ip },
      },
      schema: {
        tags,
        operationId: 'saveSignupFlow',
        summary: 'Auto-save steps with optimistic locking (send the version you last saw)',
        description:
          'Each section given is validated whole and replaces the stored one (one error per bad field). A stale version answers 409 version_conflict with `current`, the stored flow. Rate-limited per flow (SIGNUP_SAVES_PER_MINUTE).',
        security,
        body: PatchBody,
        response: { 200: Flow, ...problems(400, 401, 409, 410, 429) },
      },
    },
    async (request, reply) => answer(request, reply, await flows.save(flowToken(request), request.body)),
  );

  app.put(
    '/v1/signup-flows/current/email',
    {
      // Per IP across flows too: one client starting flow after flow must not mail address after address.
      config: { rateLimit: codeLimit },
      schema: {
        tags,
        operationId: 'setSignupFlowEmail',
        summary: 'Set the email address and email a 6-digit code (202); a new code replaces the old one',
        description:
          'Changing the address clears its verification. Codes to the same address go out at most once per RESEND_COOLDOWN_SECONDS (429 resend_too_soon with Retry-After); a changed address gets its code at once, up to 3 changes per flow within that time. Codes work for SIGNUP_CODE_TTL_SECONDS; rate-limited per IP across flows (RATE_LIMIT_SIGNUP_CODES_PER_MINUTE, 429 rate_limited). `marketingConsent` records the consent with the text version shown (SIGNUP_CONSENT_TEXT_VERSION unless `consentTextVersion` is sent).',
        security,
        body: Type.Object(
          { email: Email, marketingConsent: Type.Optional(Type.Boolean()), consentTextVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })) },
          { additionalProperties: false, examples: [{ email: 'ada@example.com', marketingConsent: true }] },
        ),
        response: { 202: Flow, ...problems(400, 401, 409, 410, 429) },
      },
    },
    async (request, reply) => answer(request, reply, await flows.setEmail(flowToken(request), request.body), 202),
  );

  app.post(
    '/v1/signup-flows/current/email/verify',
    {
      config: { rateLimit: codeLimit },
      schema: {
        tags,
        operationId: 'verifySignupFlowEmail',
        summary: 'Verify the address with the emailed code',
        description:
          'Wrong: 400 invalid_code with `attemptsLeft`; after 5 wrong tries 429 too_many_attempts until a new code is asked for; expired: 410 code_expired. An address that already has an account: 409 email_taken with a sign-in hint. Rate-limited per IP and per address (RATE_LIMIT_SIGNUP_CODES_PER_MINUTE).',
        security,
        body: Type.Object({ code: Code }, { additionalProperties: false, examples: [{ code: '042917' }] }),
        response: { 200: Flow, ...problems(400, 401, 409, 410, 429) },
      },
    },
    async (request, reply) => answer(request, reply, await flows.verifyEmail(flowToken(request), request.body.code)),
  );

  app.put(
    '/v1/signup-flows/current/payment-method',
    {
      schema: {
        tags,
        operationId: 'setSignupFlowPaymentMethod',
        summary: 'Record the payment method of a paid plan (its id from Stripe.js; never card data)',
        description:
          'Validated through the payment gateway (it exists, it is a card: else 400 invalid_payment_method); the flow keeps the id with brand, last 4 and expiry for display. The card is attached and the subscription started only by complete, through the billing saga. A plan that takes no payment method: 400.',
        security,
        body: Type.Object(
          { paymentMethodId: Type.String({ pattern: '^pm_[A-Za-z0-9_]{1,200}$', 'x-pattern-message': 'must be a payment method id (pm_...) from Stripe.js', description: 'From Stripe.js (Elements); with the local gateway, a Stripe test id such as pm_card_visa.' }) },
          { additionalProperties: false, examples: [{ paymentMethodId: 'pm_card_visa' }] },
        ),
        response: { 200: Flow, ...problems(400, 401, 409, 410, 503) },
      },
    },
    async (request, reply) => answer(request, reply, await flows.setPaymentMethod(flowToken(request), request.body.paymentMethodId)),
  );

  app.post(
    '/v1/signup-flows/current/complete',
    {
      schema: {
        tags,
        operationId: 'completeSignupFlow',
        summary: 'Create the account, profile and workspace in one transaction; opens a session',
        description:
          'Anything missing or unverified: 422 signup_incomplete with `missingFields` and `unverifiedFields` (a plan that requires a payment method lists `paymentMethod` until one is on file). A paid plan runs the billing saga: a declined card answers 402 card_declined and the flow stays at its payment step; 3-D Secure answers 409 payment_action_required with the client secret, and completing again continues; an unreachable gateway answers 503 payment_unavailable with Retry-After, with nothing kept on either side. A repeat through the same cookie answers 200 with the same account and workspace and a new session. An address registered meanwhile: 409 email_taken, and the flow is kept. The flow cookies are revoked.',
        security,
        body: EmptyBody,
        response: { 201: Completed, 200: Completed, ...problems(400, 401, 402, 409, 410, 422, 503) },
      },
    },
    async (request, reply) => {
      const done = await flows.complete(flowToken(request));
      cookies.set(reply, done.session);
      flowCookies.clear(reply);
      return reply.code(done.replayed ? 200 : 201).send({ account: accountJson(done.account), workspace: workspaceJson(done.workspace) });
    },
  );

  app.delete(
    '/v1/signup-flows/current',
    {
      schema: {
        tags,
        operationId: 'discardSignupFlow',
        summary: 'Discard my sign-up: its personal data is purged at once, and it never becomes a lead',
        description: 'Clears the cookie; every other device\'s cookie of the flow stops working too. A completed flow answers 409 signup_flow_completed.',
        security,
        response: { 204: Type.Null(), ...problems(401, 409) },
      },
    },
    async (request, reply) => {
      await flows.discard(flowToken(request));
      flowCookies.clear(reply);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/signup-flows/resume',
    {
      config: { rateLimit: codeLimit },
      schema: {
        tags,
        operationId: 'requestSignupFlowResume',
        summary: 'Continue a sign-up on another device: emails a resume code if an open flow has this verified address',
        description: 'Always 202, whether or not such a flow exists. Rate-limited per IP and per address.',
        body: Type.Object({ email: Email }, { additionalProperties: false, examples: [{ email: 'ada@example.com' }] }),
        response: { 202: Type.Object({ status: Type.Literal('accepted') }, { examples: [{ status: 'accepted' }] }), ...problems(400, 429) },
      },
    },
    async (request, reply) => {
      await flows.requestResume(request.body.email);
      return reply.code(202).send({ status: 'accepted' as const });
    },
  );

  app.post(
    '/v1/signup-flows/resume/verify',
    {
      config: { rateLimit: codeLimit, setsCookie: true },
      schema: {
        tags,
        operationId: 'verifySignupFlowResume',
        summary: 'Check the resume code; binds a new signup_flow cookie on this device to the flow',
        description: 'Same code rules as the email code. Both devices may then save; the version lock keeps them honest.',
        body: Type.Object({ email: Email, code: Code }, { additionalProperties: false, examples: [{ email: 'ada@example.com', code: '042917' }] }),
        response: { 200: Flow, ...problems(400, 410, 429) },
      },
    },
    async (request, reply) => {
      const { flow, cookie } = await flows.verifyResume(request.body.email, request.body.code);
      flowCookies.set(reply, cookie);
      return viewJson(flow);
    },
  );
}
