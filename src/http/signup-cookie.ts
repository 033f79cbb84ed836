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
 * The staged sign-up's cookie, with the session cookie's rules (HttpOnly, SameSite=Lax, Secure on
 * https), scoped to the flow routes, living exactly as long as the flow has left.
 */
export function signupFlowCookies(secure: boolean) {
  const base = { path: SIGNUP_FLOW_PATH, httpOnly: true, sameSite: 'lax' as const, secure };
  return {
    set(reply: FastifyReply, cookie: IssuedFlowCookie): void {
      const maxAge = Math.max(0, Math.floor((cookie.expiresAt.getTime() - Date.now()) / 1000));
      reply.setCookie(SIGNUP_FLOW_COOKIE, cookie.token, { ...base, maxAge });
    },
    clear(reply: FastifyReply): void {
      reply.clearCookie(SIGNUP_FLOW_COOKIE, base);
    },
  };
}

export type SignupFlowCookies = ReturnType<typeof signupFlowCookies>;

/** The flow cookie of a request; 401 `signup_flow_required` without one. */
export function flowToken(request: FastifyRequest): string {
  const token = request.cookies[SIGNUP_FLOW_COOKIE];
  if (!token) throw new AppError('signup_flow_required', 'Start a sign-up first (POST /v1/signup-flows), or resume yours from this device.');
  return token;
}
