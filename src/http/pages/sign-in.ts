import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../errors.js';
import type { Services } from '../../services/index.js';
import { SESSION_COOKIE, type SessionCookies } from '../auth.js';
import { Email, Password } from '../schemas/common.js';
import { csrfInput, field, html, type FieldErrors, type Html } from './html.js';
import { lengthOf, typed } from './page-forms.js';

/**
 * The sign-in form's fields as a page body schema: bounded like the API's (an address of at most 254
 * characters, a password of at most 256), but empty or malformed is left to signInOnPage's messages.
 */
export const SignInFields = {
  email: Type.String({ maxLength: lengthOf(Email).maxlength! }),
  password: Type.String({ maxLength: lengthOf(Password).maxlength! }),
};

/** A sign-in form's body that failed its schema, as the attempt to show again with its errors. */
export function signInAgain(request: FastifyRequest, errors: FieldErrors): SignInAttempt {
  return { email: typed(request.body, 'email'), errors, alert: 'Some fields need attention.' };
}

/** A failed sign-in as the form shows it again: the address typed (never the password) and why. */
export interface SignInAttempt {
  email?: string;
  errors?: FieldErrors;
  alert?: string;
}

/** The email-and-password form that posts to `action`, with the last attempt's errors tied to their fields. */
export function signInForm(reply: FastifyReply, action: string, attempt: SignInAttempt = {}, submit = 'Sign in'): Html {
  return html`${attempt.alert ? html`<p class="alert" role="alert" id="form-alert" data-autofocus>${attempt.alert}</p>` : ''}
<form method="post" action="${action}" novalidate>${csrfInput(reply.generateCsrf())}
${field({ name: 'email', label: 'Email', type: 'email', value: attempt.email, autocomplete: 'username', errors: attempt.errors, ...lengthOf(SignInFields.email) })}
${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors: attempt.errors, ...lengthOf(SignInFields.password) })}
<button type="submit" data-busy="Signing in…">${submit}</button>
</form>`;
}

/**
 * Signs in from a page form with the API's rules (per-address lockout, per-IP limits): on success the
 * session cookie is set and `request.accountId` filled; otherwise the attempt to show and its status.
 */
export async function signInOnPage(
  services: Services,
  cookies: SessionCookies,
  request: FastifyRequest,
  reply: FastifyReply,
  body: { email?: string; password?: string },
): Promise<{ failed: false } | { failed: true; attempt: SignInAttempt; status: number }> {
  const email = (body.email ?? '').trim();
  const password = body.password ?? '';
  const errors: FieldErrors = {};
  if (!email) errors.email = 'Enter your email address.';
  if (!password) errors.password = 'Enter your password.';
  if (Object.keys(errors).length > 0) return { failed: true, attempt: { email, errors, alert: 'Enter your email and password to sign in.' }, status: 400 };
  try {
    const session = await services.sessions.signIn(email, password, request.cookies[SESSION_COOKIE]);
    cookies.set(reply, session);
    request.accountId = session.accountId;
    return { failed: false };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    if (error.code === 'invalid_credentials') return { failed: true, attempt: { email, errors: { password: 'This email and password do not match.' }, alert: 'Sign-in failed: check your password.' }, status: 401 };
    if (error.code === 'sign_in_locked' || error.code === 'rate_limited') {
      if (error.options.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.options.retryAfterSeconds));
      return { failed: true, attempt: { email, alert: error.detail }, status: 429 };
    }
    throw error;
  }
}
