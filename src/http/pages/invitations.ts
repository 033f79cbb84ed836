import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../errors.js';
import type { InvitationPreview } from '../../services/invitation-service.js';
import { SESSION_COOKIE } from '../auth.js';
import { perIpLimit } from '../rate-limit-store.js';
import { Email, Password, PersonName } from '../schemas/common.js';
import type { App } from '../types.js';
import { csrfInput, field, html, layout, type FieldErrors, type Html } from './html.js';
import type { PageDeps } from './index.js';
import { lengthOf, typed, type PageFormRenderer } from './page-forms.js';
import { signInOnPage, SignInFields } from './sign-in.js';

const Token = Type.String({ maxLength: 200 });
const ROLE_NAMES: Record<string, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' };
const PASSWORD_MIN = (Password as { minLength?: number }).minLength ?? 8;
const PASSWORD_MAX = (Password as { maxLength?: number }).maxLength ?? 256;
/** The name as the API takes it, but empty is left to the page (its "Enter your name." message). */
const Name = PersonName(undefined, 0);

const AcceptBody = Type.Object({
  _csrf: Type.String({ maxLength: 200 }),
  token: Token,
  intent: Type.Union([Type.Literal('create'), Type.Literal('sign-in'), Type.Literal('join')]),
  name: Type.Optional(Name),
  email: Type.Optional(SignInFields.email),
  password: Type.Optional(Type.String({ maxLength: PASSWORD_MAX })),
});

/** What the form shows again after a failed attempt: the values typed (never the password) and why. */
interface Attempt {
  name?: string;
  email?: string;
  errors?: FieldErrors;
  alert?: string;
}

/**
 * `/invitations/accept?token=`: the workspace, the inviter and the role; a newcomer chooses a name
 * and password and joins, an existing account signs in on the page and joins, someone signed in as
 * the invited address joins with one button. A mismatched account, an expired, revoked or already
 * used invitation, and an unknown link each get their own page.
 */
export async function invitationPages(app: App, { services, config, guards, cookies }: PageDeps): Promise<void> {
  const send = (reply: FastifyReply, status: number, title: string, body: Html) =>
    reply.code(status).type('text/html; charset=utf-8').send(layout({ title, body }));

  function summary(preview: InvitationPreview): Html {
    return html`<h1>Join ${preview.workspace.name}</h1>
<dl>
<dt>Workspace</dt><dd>${preview.workspace.name}</dd>
<dt>Invited by</dt><dd>${preview.invitedBy.name ?? 'A workspace admin'}</dd>
<dt>Role</dt><dd>${ROLE_NAMES[preview.role] ?? preview.role}</dd>
<dt>For</dt><dd>${preview.email}</dd>
</dl>`;
  }

  function alertOf(attempt: Attempt): Html {
    return attempt.alert ? html`<p class="alert" role="alert" id="form-alert" data-autofocus>${attempt.alert}</p>` : html``;
  }

  /** The page for a link that works, in the state this visitor is in. */
  async function acceptPage(request: FastifyRequest, reply: FastifyReply, token: string, preview: InvitationPreview, attempt: Attempt = {}, status = 200) {
    const csrf = csrfInput(reply.generateCsrf());
    const tokenInput = html`<input type="hidden" name="token" value="${token}">`;
    if (request.accountId) {
      const { account } = await services.accounts.me(request.accountId);
      if (account.email.toLowerCase() !== preview.email.toLowerCase()) return mismatchPage(reply, token, preview, account.email);
      return send(reply, status, `Join ${preview.workspace.name}`, html`${summary(preview)}${alertOf(attempt)}
<form method="post" action="/invitations/accept">${csrf}${tokenInput}
<input type="hidden" name="intent" value="join">
<p>You are signed in as ${account.email}.</p>
<button type="submit" data-busy="Joining…">Join ${preview.workspace.name}</button>
</form>`);
    }
    if (preview.accountExists) {
      return send(reply, status, `Sign in to join ${preview.workspace.name}`, html`${summary(preview)}
<h2>Sign in to accept</h2>
<p>An account for ${preview.email} already exists. Sign in with its password to join.</p>${alertOf(attempt)}
<form method="post" action="/invitations/accept" novalidate>${csrf}${tokenInput}
<input type="hidden" name="intent" value="sign-in">
${field({ name: 'email', label: 'Email', type: 'email', value: attempt.email ?? preview.email, autocomplete: 'username', errors: attempt.errors, ...lengthOf(Email) })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors: attempt.errors, maxlength: PASSWORD_MAX })}
<button type="submit" data-busy="Signing in…">Sign in and join</button>
</form>`);
    }
    return send(reply, status, `Join ${preview.workspace.name}`, html`${summary(preview)}
<h2>Create your account</h2>
<p>Choose your name and a password to join as ${preview.email}.</p>${alertOf(attempt)}
<form method="post" action="/invitations/accept" novalidate>${csrf}${tokenInput}
<input type="hidden" name="intent" value="create">
${field({ name: 'name', label: 'Your name', value: attempt.name, autocomplete: 'name', errors: attempt.errors, ...lengthOf(Name) })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', ...lengthOf(Password), hint: `At least ${PASSWORD_MIN} characters.`, errors: attempt.errors })}
<button type="submit" data-busy="Joining…">Create account and join</button>
</form>`);
  }

  function mismatchPage(reply: FastifyReply, token: string, preview: InvitationPreview, signedInAs: string) {
    return send(reply, 403, 'Signed in as someone else', html`<h1>This invitation is for another address</h1>
<p class="alert" role="alert" data-autofocus>You are signed in as ${signedInAs}, but this invitation to ${preview.workspace.name} was sent to ${preview.email}.</p>
<p>Sign out, then sign in as ${preview.email} (or create that account) to accept it.</p>
<form method="post" action="/invitations/sign-out">${csrfInput(reply.generateCsrf())}
<input type="hidden" name="token" value="${token}">
<button type="submit" class="secondary">Sign out and continue</button>
</form>`);
  }

  /** A link that no longer works: which case it is, in words. */
  async function deadLinkPage(reply: FastifyReply, token: string | undefined) {
    const state = token ? await services.invitations.linkState(token) : 'unknown';
    switch (state) {
      case 'expired':
        return send(reply, 410, 'Invitation expired', html`<h1>This invitation has expired</h1>
<p class="alert" role="alert">Invitations work for a limited time. Ask the person who invited you to send a new one.</p>`);
      case 'revoked':
        return send(reply, 404, 'Invitation withdrawn', html`<h1>This invitation was withdrawn</h1>
<p class="alert" role="alert">Someone in the workspace cancelled it. If you still need access, ask them to invite you again.</p>`);
      case 'accepted':
        return send(reply, 404, 'Invitation already used', html`<h1>This invitation was already accepted</h1>
<p class="alert" role="alert">It has been used to join the workspace. If that was you, sign in to your account to continue.</p>`);
      default:
        return send(reply, 404, 'Invitation not found', html`<h1>This invitation link does not work</h1>
<p class="alert" role="alert">The link is incomplete, or a newer invitation email replaced it. Use the link in the most recent invitation email.</p>`);
    }
  }

  /** The preview, or undefined when the link no longer works. */
  async function previewOf(token: string): Promise<InvitationPreview | undefined> {
    try {
      return await services.invitations.preview(token);
    } catch (error) {
      if (error instanceof AppError && (error.code === 'invitation_not_found' || error.code === 'invitation_expired')) return undefined;
      throw error;
    }
  }

  /** The accept form again after its body failed the schema (a 10,000-character name, a control character). */
  const formAgain: PageFormRenderer = async (request, reply, errors) => {
    const token = typed(request.body, 'token');
    const preview = token && token.length <= 200 ? await previewOf(token) : undefined;
    if (!token || !preview) return deadLinkPage(reply, token);
    await guards.optionalAccount(request, reply);
    const attempt = { name: typed(request.body, 'name'), email: typed(request.body, 'email'), errors, alert: 'Some fields need attention.' };
    return acceptPage(request, reply, token, preview, attempt, 400);
  };

  app.get(
    '/invitations/accept',
    {
      preHandler: guards.optionalAccount,
      // A token no token can be (cut off, run into other text) is a link that does not work, not an error in API words.
      config: { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 }, pageForm: (_request, reply) => deadLinkPage(reply, undefined) },
      schema: { hide: true, querystring: Type.Object({ token: Type.Optional(Token) }) },
    },
    async (request, reply) => {
      const token = request.query.token;
      const preview = token ? await previewOf(token) : undefined;
      if (!token || !preview) return deadLinkPage(reply, token);
      return acceptPage(request, reply, token, preview);
    },
  );

  app.post(
    '/invitations/accept',
    {
      onRequest: perIpLimit(app, 'sign-ins-per-ip', config.rateLimits.signInsPerIpPerMinute, 60_000),
      preHandler: [app.csrfProtection, guards.optionalAccount],
      config: { rateLimit: { max: config.rateLimits.confirmsPerMinute, timeWindow: 60_000 }, pageForm: formAgain },
      schema: { hide: true, body: AcceptBody },
    },
    async (request, reply) => {
      const { token, intent } = request.body;
      const preview = await previewOf(token);
      if (!preview) return deadLinkPage(reply, token);
      const retry = (attempt: Attempt, status: number) => acceptPage(request, reply, token, preview, attempt, status);

      if (intent === 'sign-in' && !request.accountId) {
        const outcome = await signInOnPage(services, cookies, request, reply, request.body);
        if (outcome.failed) return retry(outcome.attempt, outcome.status);
      }

      if (intent === 'create' && !request.accountId) {
        const name = (request.body.name ?? '').trim();
        const password = request.body.password ?? '';
        const errors: FieldErrors = {};
        // Length and control characters are the schema's (Name); a form that fails it comes back through formAgain.
        if (!name) errors.name = 'Enter your name.';
        if (password.length < PASSWORD_MIN) errors.password = `Use at least ${PASSWORD_MIN} characters.`;
        if (Object.keys(errors).length > 0) return retry({ name, errors, alert: 'Some fields need attention.' }, 400);
        return accepted(reply, () => services.invitations.accept({ token, name, password }), (attempt, status) => retry({ name, ...attempt }, status));
      }

      if (!request.accountId) return retry({ alert: 'Your session has ended. Sign in to join.' }, 401);
      const accountId = request.accountId;
      return accepted(reply, () => services.invitations.accept({ token, accountId }), retry);
    },
  );

  /** Runs the acceptance and shows its outcome; a refusal shows the page for its case. */
  async function accepted(reply: FastifyReply, accept: () => ReturnType<typeof services.invitations.accept>, retry: (attempt: Attempt, status: number) => Promise<unknown>) {
    try {
      const result = await accept();
      if (result.created && result.session) cookies.set(reply, result.session);
      return send(reply, result.created ? 201 : 200, `You joined ${result.workspace.name}`, html`<h1>Welcome to ${result.workspace.name}</h1>
<p class="success" role="status" data-autofocus>You joined ${result.workspace.name} as ${ROLE_NAMES[result.role] ?? result.role}${result.created ? ', and your account is ready' : ''}. You are signed in.</p>`);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'invitation_not_found' || error.code === 'invitation_expired') return deadLinkPage(reply, (reply.request.body as { token: string }).token);
      if (error.code === 'invitation_email_mismatch' || error.code === 'sign_in_required') return retry({ alert: error.detail }, error.code === 'sign_in_required' ? 401 : 403);
      if (error.code === 'validation_failed') {
        const errors: FieldErrors = Object.fromEntries((error.options.fields ?? []).map((f) => [f.field, `This ${f.message}.`]));
        return retry({ errors, alert: error.detail }, 400);
      }
      throw error;
    }
  }

  app.post(
    '/invitations/sign-out',
    { preHandler: app.csrfProtection, schema: { hide: true, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), token: Token }) } },
    async (request, reply) => {
      const session = request.cookies[SESSION_COOKIE];
      if (session) await services.sessions.signOut(session);
      cookies.clear(reply);
      return reply.code(303).redirect(`/invitations/accept?token=${encodeURIComponent(request.body.token)}`);
    },
  );
}
