import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../errors.js';
import { verificationRequestLimit } from '../rate-limit-store.js';
import { Email } from '../schemas/common.js';
import type { App } from '../types.js';
import { csrfInput, field, html, layout, type FieldErrors, type Html } from './html.js';
import type { PageDeps } from './index.js';
import { lengthOf, typed, type PageFormRenderer } from './page-forms.js';

const Token = Type.String({ maxLength: 200 });

/**
 * `/verify-email?token=`: opening the page (GET or HEAD, as often as a mail scanner likes) only
 * shows what will happen; the "Confirm my email" button's POST confirms. A used or expired link
 * offers a new one: a resend button when signed in, else a form that asks for one by address and
 * answers the same whatever the address (POST /verify-email/request, as POST
 * /v1/email-verifications/requests does for other frontends).
 */
export async function verifyEmailPages(app: App, { services, config, guards }: PageDeps): Promise<void> {
  const send = (reply: FastifyReply, status: number, title: string, body: Html) =>
    reply.code(status).type('text/html; charset=utf-8').send(layout({ title, body }));

  /** The signed-out way to a new link: the address, and the same answer for any address. */
  function requestForm(reply: FastifyReply, attempt: { email?: string; errors?: FieldErrors } = {}, heading = true): Html {
    return html`<form method="post" action="/verify-email/request" novalidate>
${csrfInput(reply.generateCsrf())}
${heading ? html`<h2>Get a new link</h2>` : ''}
${field({ name: 'email', label: 'Your email address', type: 'email', value: attempt.email, autocomplete: 'email', errors: attempt.errors, hint: 'The address you signed up with. We email a new link to it if it still needs confirming.', ...lengthOf(Email) })}
<button type="submit" data-busy="Sending…">Email me a new link</button>
</form>`;
  }

  /** The request form again, after its address failed the schema (malformed, too long). */
  const requestFormAgain: PageFormRenderer = (request, reply, errors) =>
    send(reply, 400, 'Get a new link', html`<h1>Get a new verification link</h1>
<p class="alert" role="alert" id="form-alert" data-autofocus>Check the address you typed.</p>${requestForm(reply, { email: typed(request.body, 'email'), errors }, false)}`);

  /** A new link: a resend button for the signed-in, unverified account; otherwise the request form. */
  async function newLinkOffer(request: FastifyRequest, reply: FastifyReply): Promise<Html> {
    await guards.optionalAccount(request, reply);
    if (!request.accountId) return requestForm(reply);
    const { account } = await services.accounts.me(request.accountId);
    if (account.emailVerified) return html`<p class="success">You are signed in as ${account.email}, and that address is already confirmed. There is nothing more to do.</p>`;
    return html`<form method="post" action="/verify-email/resend">
${csrfInput(reply.generateCsrf())}
<p>You are signed in as ${account.email}.</p>
<button type="submit" data-busy="Sending…">Email me a new link</button>
</form>`;
  }

  /** A link without its token, or with one no token can be (cut off, run into other text): what to do, and a new link. */
  const incompleteLink: PageFormRenderer = async (request, reply) =>
    send(reply, 400, 'Incomplete link', html`<h1>This link is incomplete</h1>
<p>Open the link from the verification email again, or copy the whole address into the browser.</p>${await newLinkOffer(request, reply)}`);

  app.get(
    '/verify-email',
    { schema: { hide: true, querystring: Type.Object({ token: Type.Optional(Token) }) }, config: { rateLimit: false, pageForm: incompleteLink } },
    async (request, reply) => {
      const token = request.query.token;
      if (!token) return incompleteLink(request, reply, {});
      return send(reply, 200, 'Confirm your email address', html`<h1>Confirm your email address</h1>
<p>Press the button to confirm that this email address is yours. Confirming starts your trial.</p>
<form method="post" action="/verify-email">
${csrfInput(reply.generateCsrf())}
<input type="hidden" name="token" value="${token}">
<button type="submit" data-busy="Confirming…">Confirm my email</button>
</form>`);
    },
  );

  app.post(
    '/verify-email',
    {
      preHandler: app.csrfProtection,
      config: { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 } },
      schema: { hide: true, body: Type.Object({ token: Token, _csrf: Type.String({ maxLength: 200 }) }) },
    },
    async (request, reply) => {
      try {
        await services.verifications.confirm(request.body.token);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (error.code === 'token_expired') {
          return send(reply, 410, 'Link expired', html`<h1>This link has expired</h1>
<p class="alert" role="alert" data-autofocus>Verification links work for a limited time, and this one is too old.</p>${await newLinkOffer(request, reply)}`);
        }
        if (error.code === 'invalid_token') {
          return send(reply, 400, 'Link already used', html`<h1>This link was already used</h1>
<p class="alert" role="alert" data-autofocus>This link has already confirmed an address, or a newer email replaced it. If you confirmed already, there is nothing more to do.</p>${await newLinkOffer(request, reply)}`);
        }
        throw error;
      }
      return send(reply, 200, 'Email confirmed', html`<h1>Your email address is confirmed</h1>
<p class="success" role="status" data-autofocus>Thank you. Your address is confirmed and your trial has started. You can close this page.</p>`);
    },
  );

  app.post(
    '/verify-email/resend',
    {
      preHandler: [app.csrfProtection, guards.optionalAccount],
      config: { rateLimit: { max: config.rateLimits.resendsPerMinute, timeWindow: 60_000 } },
      schema: { hide: true, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }) }) },
    },
    async (request, reply) => {
      if (!request.accountId) {
        return send(reply, 401, 'Sign in first', html`<h1>Sign in first</h1><p class="alert" role="alert" data-autofocus>Your session has ended. Sign in to your account to ask for a new verification email.</p>`);
      }
      try {
        await services.verifications.resend(request.accountId);
      } catch (error) {
        if (!(error instanceof AppError) || (error.code !== 'already_verified' && error.code !== 'resend_too_soon')) throw error;
        if (error.options.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.options.retryAfterSeconds));
        const status = error.code === 'already_verified' ? 409 : 429;
        return send(reply, status, 'No new link sent', html`<h1>No new link sent</h1><p class="alert" role="alert" data-autofocus>${error.detail}</p>`);
      }
      const { account } = await services.accounts.me(request.accountId);
      return send(reply, 202, 'New link sent', html`<h1>Check your inbox</h1>
<p class="success" role="status" data-autofocus>We sent a new verification link to ${account.email}. Earlier links no longer work.</p>`);
    },
  );

  app.post(
    '/verify-email/request',
    {
      preHandler: app.csrfProtection,
      config: { rateLimit: verificationRequestLimit(config.rateLimits.resendsPerMinute), pageForm: requestFormAgain },
      schema: { hide: true, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), email: Email }) },
    },
    async (request, reply) => {
      await services.verifications.requestNewLink(request.body.email);
      return send(reply, 202, 'Check your inbox', html`<h1>Check your inbox</h1>
<p class="success" role="status" data-autofocus>If an unconfirmed account uses ${request.body.email}, we've sent a new verification link to it, which replaces any earlier link. The email can take a few minutes to arrive.</p>`);
    },
  );
}
