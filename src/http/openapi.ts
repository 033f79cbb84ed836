import { STATUS_CODES } from 'node:http';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { problems } from './schemas/common.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` for a route that answers without the database: no 503 is documented for it. */
    database?: boolean;
    /** The route's successful answers set (or clear) the session or sign-up cookie: sign-up, sign-in, sign-out, a newcomer's acceptance, a staged sign-up's start and resume. */
    setsCookie?: boolean;
    /** Headers the route's answers carry, by status, documented from `components.headers` (see RESPONSE_HEADERS). */
    responseHeaders?: Partial<Record<number, ResponseHeader[]>>;
  }
}

/** One route as the router knows it, for the test that every route is documented. */
export interface RouteEntry {
  method: string;
  url: string;
  hidden: boolean;
  /** False when the route declared it answers without the database (`config.database: false`). */
  database: boolean;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const catalogs = new WeakMap<object, RouteEntry[]>();

/** Every route registered on `app` (hidden ones flagged), in registration order. */
export function routesOf(app: object): RouteEntry[] {
  return catalogs.get(app) ?? [];
}

/**
 * The statuses every route can answer, added in one place so a route declares only its own (a 409,
 * a 404 from its guard): 400 for any input, 413 and 415 where a body is read, 414 where the path has
 * parameters, 401 behind a security requirement, 429 where rate limited, 503 where the database is
 * touched, 500 everywhere. An `onRoute` hook, so routes registered by any module comply.
 */
export function standardResponses(app: object) {
  const catalog: RouteEntry[] = [];
  catalogs.set(app, catalog);
  return (route: RouteOptions): void => {
    const schema = route.schema as (Record<string, unknown> & { hide?: boolean; security?: unknown[]; response?: Record<string, unknown> }) | undefined;
    const methods = [route.method].flat().map(String);
    const hidden = !schema || schema.hide === true;
    for (const method of methods) catalog.push({ method, url: route.url, hidden: hidden || method === 'HEAD', database: route.config?.database !== false });
    if (hidden) return;
    const readsBody = methods.some((method) => BODY_METHODS.has(method));
    const statuses: number[] = [500];
    if (readsBody || schema.body || schema.querystring || schema.params || schema.headers) statuses.push(400);
    if (readsBody) statuses.push(413, 415);
    if (route.url.includes(':')) statuses.push(414);
    if (schema.security && schema.security.length > 0) statuses.push(401);
    if (route.config?.rateLimit) statuses.push(429);
    if (route.config?.database !== false) statuses.push(503);
    // A route without a security requirement is public, and says so (`security: []`).
    schema.security ??= [];
    const declared = schema.response ?? {};
    schema.response = { ...problems(...statuses.filter((status) => !(status in declared))), ...declared };
  };
}

/** What each error status means here; the problem's `code` says which case it is. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or a field is invalid (`validation_failed` lists each field in `errors`).',
  401: 'Not signed in, or the credentials are wrong or missing.',
  403: 'Signed in, but this account may not do this.',
  404: 'Not found, or not visible to this account.',
  409: 'The request conflicts with the current state; `code` says how.',
  410: 'The link or token has expired.',
  413: 'The request body is larger than 64 KiB.',
  414: 'A part of the address (a path parameter) is too long.',
  415: 'The request body is not `application/json`.',
  422: 'The Idempotency-Key was already used with a different request.',
  429: 'Too many requests: wait for `Retry-After` seconds.',
  500: 'An unexpected error; the detail says nothing about its cause.',
  503: 'The database is out of reach or too slow: retry after `Retry-After` seconds.',
};

const SUCCESS_DESCRIPTIONS: Record<number, string> = {
  200: 'Done; the body is the result.',
  201: 'Created; the body is the new resource.',
  202: 'Accepted; the work happens in the background.',
  204: 'Done; no body.',
  304: 'Not modified since the ETag sent in `If-None-Match`.',
};

const problemExample = (status: number) => ({
  type: `urn:problem:${status === 400 ? 'validation_failed' : (EXAMPLE_CODES[status] ?? 'internal_error')}`,
  title: STATUS_CODES[status] ?? 'Error',
  status,
  detail: EXAMPLE_DETAILS[status] ?? 'Something went wrong on our side. Please try again; if it keeps happening, contact support.',
  code: status === 400 ? 'validation_failed' : (EXAMPLE_CODES[status] ?? 'internal_error'),
  ...(status === 400 ? { errors: [{ field: 'email', message: 'must be an email address' }] } : {}),
});
const EXAMPLE_CODES: Record<number, string> = {
  401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 409: 'version_conflict', 410: 'token_expired', 413: 'payload_too_large',
  414: 'uri_too_long', 415: 'unsupported_media_type', 422: 'idempotency_key_reused', 429: 'rate_limited', 503: 'temporarily_unavailable',
};
const EXAMPLE_DETAILS: Record<number, string> = {
  400: 'The request is not valid: email must be an email address.',
  401: 'Sign in to continue.',
  403: 'Only owners and admins can do this.',
  404: 'There is nothing at this address.',
  409: 'The draft changed since version 3.',
  410: 'This link has expired. Ask for a new one.',
  413: 'The request body is too large: at most 64 KiB is accepted.',
  414: 'A part of the address is too long.',
  415: 'Send the request body as application/json.',
  422: 'This Idempotency-Key was used for a different request.',
  429: 'Too many requests. Try again in 42 seconds.',
  503: 'The service cannot reach its database right now. Try again shortly.',
};

type Json = Record<string, unknown>;
const PROBLEM_REF = '#/components/schemas/Problem';

/** Response headers the document describes once, under `components.headers`, by the name routes use. */
const RESPONSE_HEADERS = {
  'Set-Cookie': {
    component: 'SetCookie',
    description: 'The session cookie `sid` (HttpOnly, SameSite=Lax, Secure over https); set on sign-in, renewed while in use, cleared on sign-out.',
    schema: { type: 'string' },
    example: 'sid=4mGx2Yk...; Path=/; Expires=Tue, 29 Dec 2026 10:00:00 GMT; HttpOnly; SameSite=Lax',
  },
  ETag: {
    component: 'ETag',
    description: 'A validator of this answer: send it back in `If-None-Match` to get 304 while nothing changed.',
    schema: { type: 'string' },
    example: '"3f1c9d2e7a"',
  },
  Location: {
    component: 'Location',
    description: 'The address of the resource just created.',
    schema: { type: 'string' },
    example: '/v1/workspaces/7d9f3c2a-4b1e-4c8d-9a6f-2e5b8c1d0f3a',
  },
} as const;
/** A response header a route may declare in `config.responseHeaders`. */
export type ResponseHeader = Exclude<keyof typeof RESPONSE_HEADERS, 'Set-Cookie'>;

/**
 * Turns the generated document into the contract: problem documents as `application/problem+json`
 * with an example, Retry-After and Set-Cookie as shared headers, a description on every response,
 * and every schema with a `title` moved under `components.schemas` once.
 */
function presentDocument(document: Json): Json {
  const components = (document.components ??= {}) as Json;
  const schemas = (components.schemas ??= {}) as Json;
  components.headers = {
    RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 }, example: 30 },
    ...Object.fromEntries(Object.values(RESPONSE_HEADERS).map(({ component, ...header }) => [component, header])),
  };
  for (const item of Object.values((document.paths ?? {}) as Record<string, Json>)) {
    for (const operation of Object.values(item) as Json[]) {
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        presentResponse(Number(status), response);
      }
    }
  }
  hoistTitled(document, schemas, true);
  return document;
}

function presentResponse(status: number, response: Json): void {
  const headers = response.headers as Json | undefined;
  for (const [name, { component }] of Object.entries(RESPONSE_HEADERS)) {
    if (!headers?.[name.toLowerCase()]) continue;
    delete headers[name.toLowerCase()];
    headers[name] = { $ref: `#/components/headers/${component}` };
  }
  if (response.description === 'Default Response') {
    response.description = (status >= 400 ? ERROR_DESCRIPTIONS[status] : SUCCESS_DESCRIPTIONS[status]) ?? STATUS_CODES[status] ?? 'Answer';
  }
  const content = response.content as Record<string, Json> | undefined;
  const json = content?.['application/json'];
  if (status >= 400 && (json?.schema as Json | undefined)?.$ref === PROBLEM_REF) {
    response.content = { 'application/problem+json': { schema: { $ref: PROBLEM_REF }, example: problemExample(status) } };
    response.description = ERROR_DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? 'Error';
    if (status === 429 || status === 503) response.headers = { ...headers, 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
  }
}

/** Replaces each schema below `node` that has a `title` with a reference to `components.schemas[title]`. */
function hoistTitled(node: unknown, schemas: Json, root = false): void {
  if (Array.isArray(node)) return node.forEach((item) => hoistTitled(item, schemas));
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node as Json)) {
    if ((root && key === 'components') || key === 'example' || key === 'examples' || typeof value !== 'object' || value === null) continue;
    const title = (value as Json).title;
    const isSchema = 'type' in value || 'enum' in value || 'anyOf' in value;
    if (typeof title === 'string' && isSchema && /^[A-Z][A-Za-z0-9]*$/.test(title)) {
      if (!schemas[title]) {
        schemas[title] = value;
        hoistTitled(value, schemas);
      }
      (node as Json)[key] = { $ref: `#/components/schemas/${title}` };
    } else {
      hoistTitled(value, schemas);
    }
  }
}

/**
 * Documents the headers of answers: Set-Cookie on the successful answers of routes that set it or
 * renew the session, and what a route declares in `config.responseHeaders` (ETag, Location).
 */
const transform: FastifyDynamicSwaggerOptions['transform'] = ({ schema, url, route }) => {
  const security = (schema as { security?: Record<string, unknown>[] } | undefined)?.security ?? [];
  const cookie = route.config?.setsCookie === true || security.some((requirement) => 'sessionCookie' in requirement || 'signupFlowCookie' in requirement);
  const declared = route.config?.responseHeaders ?? {};
  if (!schema?.response) return { schema, url };
  const headersOf = (status: number): string[] => [...(cookie && status < 300 ? ['set-cookie'] : []), ...(declared[status] ?? []).map((name) => name.toLowerCase())];
  const response = Object.fromEntries(
    Object.entries(schema.response as Record<string, Json>).map(([status, answer]) => {
      const names = headersOf(Number(status));
      return [status, names.length > 0 ? { ...answer, headers: Object.fromEntries(names.map((name) => [name, { type: 'string' }])) } : answer];
    }),
  );
  return { schema: { ...schema, response }, url };
};

/** Tags in the order a frontend meets them. */
const TAGS = [
  { name: 'registration', description: 'Sign-up and email verification.' },
  { name: 'sessions', description: 'Signing in and out; who is signed in.' },
  { name: 'workspaces', description: 'Workspaces a signed-in account owns or belongs to.' },
  { name: 'invitations', description: 'Inviting teammates, and accepting an invitation with or without an account.' },
  { name: 'members', description: 'Members of a workspace and their roles.' },
  { name: 'onboarding', description: 'The resumable setup wizard: steps, auto-saved drafts, completion.' },
  { name: 'signup-flows', description: 'The staged sign-up: partial data kept until complete, resumable on any device, committed in one transaction.' },
  { name: 'billing', description: 'Plans, subscriptions and payment methods of a workspace, and the payment gateway\'s webhooks.' },
  { name: 'admin', description: 'The back office, behind the admin bearer token.' },
  { name: 'health', description: 'Liveness and readiness for the orchestrator.' },
  { name: 'operations', description: 'What operators and their tools read: metrics and the like.' },
];

/** The @fastify/swagger options: the document's frame, the per-route transform and the final presentation. */
export function swaggerOptions(): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Onboarding service',
        version: '1.0.0',
        description:
          'Sign-up, email verification, trials, invitations, resumable onboarding and the admin back office. Errors are RFC 9457 problem documents (`application/problem+json`) with a machine-readable `code`.',
        license: { name: 'Proprietary' },
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sid', description: 'The session cookie set by sign-up, sign-in or accepting an invitation.' },
          signupFlowCookie: { type: 'apiKey', in: 'cookie', name: 'signup_flow', description: 'The cookie of a staged sign-up, set when it starts or is resumed on another device; path /v1/signup-flows.' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN of the server.' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN of the server, when set.' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform,
    transformObject: (documentObject) => presentDocument((documentObject as unknown as { openapiObject: Json }).openapiObject) as never,
  };
}
