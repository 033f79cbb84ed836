import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Services } from '../services/index.js';
import { guards as makeGuards, sessionCookies } from './auth.js';
import { sendProblem } from './error-handler.js';
import { httpMetrics } from './metrics.js';
import { drainInFlightOnClose } from './in-flight.js';
import type { Metrics } from '../metrics/metrics.js';
import { postgresRateLimitStore, rateLimited } from './rate-limit-store.js';
import { trustProxyOption } from './trust-proxy.js';
import { validatorCompiler } from './validation.js';
import { standardResponses, swaggerOptions } from './openapi.js';
import { devMailRoutes } from './routes/dev-mail.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { accountRoutes } from './routes/accounts.js';
import { emailVerificationRoutes } from './routes/email-verifications.js';
import { healthRoutes } from './routes/health.js';
import { invitationRoutes } from './routes/invitations.js';
import { memberRoutes } from './routes/members.js';
import { onboardingRoutes } from './routes/onboarding.js';
import { adminRoutes } from './routes/admin.js';
import { registrationRoutes } from './routes/registrations.js';
import { sessionRoutes } from './routes/sessions.js';
import { signupAdminRoutes } from './routes/signup-admin.js';
import { signupFlowRoutes } from './routes/signup-flows.js';
import { billingRoutes } from './routes/billing.js';
import { stripeWebhookRoutes } from './routes/stripe-webhooks.js';
import { refuseCardData } from './card-data.js';
import { webhookRoutes } from './routes/webhooks.js';
import { pageNotFound, pageRoutes, wantsPage } from './pages/index.js';
import { Problem } from './schemas/common.js';
import type { App, RouteDeps } from './types.js';

const BODY_LIMIT_BYTES = 64 * 1024;

/** Logger options that keep secrets out: no cookies, no Authorization header, no tokens in URLs. */
export function loggerOptions(level: string) {
  return {
    level,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token'],
    serializers: {
      req: (request: { method: string; url: string; ip?: string }) => ({ method: request.method, url: redactUrl(request.url), ip: request.ip }),
    },
  };
}

/** Tokens travel in some paths and links (43 base64url characters); they never reach a log line. */
export function redactUrl(url: string): string {
  // A `token` parameter is redacted by its decoded name, as the query parser reads it (`%74oken=` is `token=`).
  return url.replace(/[A-Za-z0-9_-]{43,}/g, '[redacted]').replace(/([?&])([^=&#]*)=([^&#]*)/g, (pair, separator: string, name: string) => (queryName(name) === 'token' ? `${separator}${name}=[redacted]` : pair));
}

/** A query parameter's name as the query parser decodes it (a malformed escape stays as written). */
function queryName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Graceful close: requests in flight when closing starts still complete. Their keep-alive sockets
 * turn idle only afterwards, so idle sockets are closed every 50 ms until the server has closed
 * (no per-request cost, unlike a hook on every answer).
 */
function drainOnClose(app: App): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    timer = setInterval(() => app.server.closeIdleConnections(), 50);
  });
  app.addHook('onClose', async () => clearInterval(timer));
}

/**
 * Builds the HTTP API; it never listens (the caller does), so tests drive it with inject. With
 * `metrics`, every request is measured and METRICS_TOKEN opens `GET /metrics`.
 */
export async function buildServer(deps: { config: Config; services: Services; logger?: FastifyBaseLogger; metrics?: Metrics }): Promise<App> {
  const { config, services } = deps;
  const options: FastifyServerOptions = {
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(config.trustProxy),
    // Errors met before routing (a malformed %-escape, an over-long path parameter) are problems too.
    frameworkErrors: (error, request, reply) => void sendProblem(error as never, request, reply),
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config.logLevel) }),
  };
  const app = Fastify(options).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler());
  drainOnClose(app);
  drainInFlightOnClose(app);
  // Only JSON bodies: anything else is answered 415.
  app.removeContentTypeParser('text/plain');
  app.addSchema(Problem);
  app.setErrorHandler((error, request, reply) => sendProblem(error as never, request, reply));
  app.addHook('onRequest', refuseContentEncoding);
  // Every route: a body holding a card number or security code is refused before anything reads it.
  app.addHook('preValidation', refuseCardData);
  app.setNotFoundHandler((request, reply) => {
    // A person who mistyped a page's address gets a page, not a problem document.
    if (config.hostedPages && wantsPage(request)) return pageNotFound(reply);
    return sendProblem(new AppError('not_found', 'There is nothing at this address.'), request, reply);
  });

  // Before any route, so every route (ours and the plugins') gets the statuses it can answer.
  app.addHook('onRoute', standardResponses(app));
  await app.register(cors, {
    // A function, so that a refused origin gets no CORS header at all.
    origin: (origin, callback) => callback(null, origin !== undefined && config.corsOrigins.includes(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['ETag', 'Retry-After', 'Location'],
    maxAge: 600,
  });
  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    store: postgresRateLimitStore(services.rateLimits),
    errorResponseBuilder: (_request, context) => rateLimited(context.ttl),
  });
  await app.register(swagger, swaggerOptions());
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // `servers` is this instance as the caller reached it (behind a proxy too, with TRUST_PROXY).
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async (request) => ({
    ...app.swagger(),
    servers: [{ url: `${request.protocol}://${request.host}`, description: 'This instance' }],
  }));

  if (deps.metrics) await httpMetrics(app, deps.metrics, config.metricsToken);

  const cookies = sessionCookies(config.appBaseUrl.startsWith('https:'));
  const routeDeps: RouteDeps = { config, services, cookies, guards: makeGuards(services, cookies, config.adminToken) };
  for (const routes of [healthRoutes, registrationRoutes, emailVerificationRoutes, sessionRoutes, accountRoutes, workspaceRoutes, invitationRoutes, memberRoutes, onboardingRoutes, adminRoutes, signupFlowRoutes, signupAdminRoutes, billingRoutes, stripeWebhookRoutes, webhookRoutes]) {
    await app.register(async (scope) => routes(scope as App, routeDeps));
  }
  if (!config.smtpUrl && config.nodeEnv !== 'production') await app.register(async (scope) => devMailRoutes(scope as App, routeDeps));
  if (config.hostedPages) await app.register(async (scope) => pageRoutes(scope as App, routeDeps));
  return app;
}

/**
 * Bodies are read as sent: a compressed one (a Content-Encoding other than identity) would only fail as
 * "not valid JSON", so it is a 415 saying why, as RFC 9110 (section 15.5.16) has it for a content
 * coding the server does not support.
 */
async function refuseContentEncoding(request: FastifyRequest): Promise<void> {
  const coding = request.headers['content-encoding'];
  const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
  if (hasBody && coding && coding.trim().toLowerCase() !== 'identity') {
    throw new AppError('unsupported_media_type', `A request body with Content-Encoding ${coding} is not accepted: send it uncompressed.`);
  }
}
