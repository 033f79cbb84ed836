import '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { IssuedFlowCookie } from '../services/signup/signup-flow-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireSignupFlow` on routes that key a rate limit by flow. */
    signupFlowId?: string;
  }
}

export const SIGNUP_FLOW_COOKIE = 'signup_flow';
/** The cookie goes only to the flow routes. */
export const SIGNUP_FLOW_PATH = '/v1/signup-flows';

/**
 * The hosted /signup page's hint: when this browser's flow ends (epoch seconds), nothing secret. The
 * flow cookie never reaches the page (its path is the API's), so without the hint the page could only
 * learn that there is no flow from a failing request.
 */
export const SIGNUP_PAGE_HINT_COOKIE = 'signup_flow_ends';
export const SIGNUP_PAGE_PATH = '/signup';
/** The hint outlives its flow by a week, so a person who comes back late is told the sign-up expired. */
const HINT_AFTER_EXPIRY_SECONDS = 7 * 24 * 3600;

/**
 * The staged sign-up's cookie, with the session cookie's rules (HttpOnly, SameSite=Lax, Secure on
 * https), scoped to the flow routes, living exactly as long as the flow has left; with `pageHint`
 * (hosted pages on), the /signup page's hint beside it.
 */
export function signupFlowCookies(secure: boolean, pageHint = false) {
  const base = { path: SIGNUP_FLOW_PATH, httpOnly: true, sameSite: 'lax' as const, secure };
  const hint = { ...base, path: SIGNUP_PAGE_PATH };
  return {
    set(reply: FastifyReply, cookie: IssuedFlowCookie): void {
      const maxAge = Math.max(0, Math.floor((cookie.expiresAt.getTime() - Date.now()) / 1000));
      reply.setCookie(SIGNUP_FLOW_COOKIE, cookie.token, { ...base, maxAge });
      if (pageHint) reply.setCookie(SIGNUP_PAGE_HINT_COOKIE, String(Math.floor(cookie.expiresAt.getTime() / 1000)), { ...hint, maxAge: maxAge + HINT_AFTER_EXPIRY_SECONDS });
    },
    clear(reply: FastifyReply): void {
      reply.clearCookie(SIGNUP_FLOW_COOKIE, base);
      if (pageHint) reply.clearCookie(SIGNUP_PAGE_HINT_COOKIE, hint);
    },
  };
}

/** What the /signup page knows of this browser's flow from the hint: none, one still open, or one past its end. */
export function signupFlowHint(request: FastifyRequest): 'none' | 'open' | 'expired' {
  const endsAt = Number(request.cookies[SIGNUP_PAGE_HINT_COOKIE]);
  if (!Number.isFinite(endsAt) || endsAt <= 0) return 'none';
  return endsAt * 1000 > Date.now() ? 'open' : 'expired';
}

export type SignupFlowCookies = ReturnType<typeof signupFlowCookies>;

/** The flow cookie of a request; 401 `signup_flow_required` without one. */
export function flowToken(request: FastifyRequest): string {
  const token = request.cookies[SIGNUP_FLOW_COOKIE];
  if (!token) throw new AppError('signup_flow_required', 'Start a sign-up first (POST /v1/signup-flows), or resume yours from this device.');
  return token;
}
