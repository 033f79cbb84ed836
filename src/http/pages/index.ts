import { fileURLToPath } from 'node:url';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError, type FieldError } from '../../errors.js';
import { toProblem } from '../error-handler.js';
import type { App, RouteDeps } from '../types.js';
import { html, layout } from './html.js';
import { formErrors } from './page-forms.js';
import { adminPages } from './admin.js';
import { invitationPages } from './invitations.js';
import { signupPages } from './signup.js';
import { onboardingPages } from './onboarding.js';
import { verifyEmailPages } from './verify-email.js';

/** What every page module gets: the route dependencies, plus a way to render a CSRF-bound form. */
export interface PageDeps extends RouteDeps {
  /** Whether cookies set by pages are Secure (APP_BASE_URL is https). */
  secure: boolean;
}

/**
 * The hosted pages that emailed links open (HOSTED_PAGES): server-rendered HTML, plain form POSTs
 * (so they work without JavaScript) checked against a double-submit CSRF token, and one small ES
 * module plus a stylesheet served from /assets/. Registered in their own scope, so helmet's headers,
 * the form-body parser, CSRF and this HTML error page apply to the pages only, never to the API
 * (which keeps answering 415 to form bodies). Every route has schema.hide: pages are not API.
 */
export async function pageRoutes(app: App, deps: RouteDeps): Promise<void> {
  const secure = deps.config.appBaseUrl.startsWith('https:');
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    // Page URLs carry tokens: never send them to another site.
    referrerPolicy: { policy: 'no-referrer' },
    hsts: secure,
  });
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  await app.register(csrf, { sessionPlugin: '@fastify/cookie', cookieKey: 'csrf', cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, secure } });
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('./assets/', import.meta.url)),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    maxAge: 3_600_000,
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    // Pages show tokens and per-person states: never cached by a browser or a proxy.
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Errors outside a page's own handling: a form that failed its schema goes back to that form with
  // its fields marked (config.pageForm); a bad CSRF token, a rate limit or a crash get this page.
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const problem = toProblem(error, request.log);
    const code = (error as FastifyError).code;
    // The body is checked before CSRF: a form without its token is a CSRF failure, not a field to fix.
    const csrfFailed = code === 'FST_CSRF_INVALID_TOKEN' || code === 'FST_CSRF_MISSING_SECRET' || Boolean(problem.errors?.some((e) => e.field === '_csrf'));
    const pageForm = request.routeOptions.config.pageForm;
    // A GET form (the admin filters) sends its fields in the query string: the same mapping applies.
    const formFailed = ['body', 'querystring'].includes(String((error as FastifyError).validationContext)) && problem.errors !== undefined;
    if (!csrfFailed && formFailed && pageForm) return pageForm(request, reply.code(400), formErrors(formFields(problem.errors ?? [])));
    const message = csrfFailed ? 'This form was open too long or came from another site. Go back, reload the page and try again.' : problem.detail;
    if (error instanceof AppError && error.options.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.options.retryAfterSeconds));
    return reply
      .code(csrfFailed ? 403 : problem.status)
      .type('text/html; charset=utf-8')
      .send(layout({ title: 'Something went wrong', body: html`<h1>Something went wrong</h1><p class="alert" role="alert" data-autofocus>${message}</p>` }));
  });

  const pageDeps: PageDeps = { ...deps, secure };
  await verifyEmailPages(app, pageDeps);
  await invitationPages(app, pageDeps);
  await adminPages(app, pageDeps);
  await signupPages(app, pageDeps);
  await onboardingPages(app, pageDeps);
  formAddressesLeadBack(app);
}

/**
 * A form's POST address opened in the address bar (Enter on the page a failed POST left) goes to the
 * page the form is on rather than "Page not found".
 */
function formAddressesLeadBack(app: App): void {
  const Id = Type.String({ format: 'uuid' });
  const back: [string, (id: string) => string][] = [
    ['/verify-email/request', () => '/verify-email'],
    ['/verify-email/resend', () => '/verify-email'],
    ['/admin/sign-in', () => '/admin'],
    ['/admin/sign-out', () => '/admin'],
    ['/admin/workspaces/:id/extend-trial', (id) => `/admin/workspaces/${id}`],
    ['/admin/workspaces/:id/reopen', (id) => `/admin/workspaces/${id}`],
    ['/onboarding/:workspaceId/sign-in', (id) => `/onboarding/${id}`],
    ['/onboarding/:workspaceId/sign-out', (id) => `/onboarding/${id}`],
    ['/onboarding/:workspaceId/steps', (id) => `/onboarding/${id}`],
  ];
  for (const [url, page] of back) {
    const param = /:(\w+)/.exec(url)?.[1];
    app.get(url, { schema: { hide: true, ...(param ? { params: Type.Object({ [param]: Id }) } : {}) } }, async (request, reply) =>
      reply.code(303).redirect(page(param ? (request.params as Record<string, string>)[param]! : '')));
  }
}

/** Field errors named as the form names its inputs: a query's fields without the API's `querystring.` prefix. */
function formFields(errors: readonly FieldError[]): FieldError[] {
  return errors.map(({ field, message }) => ({ field: field.replace(/^querystring\./, ''), message }));
}

/** A browser asking for a page (not the API, not an asset): its Accept header prefers HTML. */
export function wantsPage(request: FastifyRequest): boolean {
  if (request.url.startsWith('/v1/') || request.url.startsWith('/assets/')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/** The 404 page for an address no page has, with the CSP the pages' scope would have set. */
export function pageNotFound(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .header('content-security-policy', "default-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(layout({ title: 'Page not found', body: html`<h1>Page not found</h1><p class="alert" role="alert" data-autofocus>There is no page at this address. Check the link, or go back.</p>` }));
}
