import '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { IssuedSession } from '../services/session-service.js';
import type { Services } from '../services/index.js';
import { secretsEqual } from '../services/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAccount` (or `optionalAccount`) once the session cookie checked out. */
    accountId?: string;
  }
}

export const SESSION_COOKIE = 'sid';

/** Cookie rules in one place: HttpOnly, SameSite=Lax, Secure when the app is served over https. */
export function sessionCookies(secure: boolean) {
  const base = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure };
  return {
    set(reply: FastifyReply, session: IssuedSession): void {
      reply.setCookie(SESSION_COOKIE, session.token, { ...base, expires: session.expiresAt });
    },
    clear(reply: FastifyReply): void {
      reply.clearCookie(SESSION_COOKIE, base);
    },
  };
}

export type SessionCookies = ReturnType<typeof sessionCookies>;

/** Request guards: member routes read only the cookie, admin routes read only the bearer token. */
export function guards(services: Services, cookies: SessionCookies, adminToken: string | undefined) {
  async function resolveAccount(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return;
    const session = await services.sessions.authenticate(token);
    if (!session) return;
    request.accountId = session.accountId;
    if (session.renewed) cookies.set(reply, session.renewed);
  }

  return {
    /** Routes for signed-in people: 401 without a live session. */
    async requireAccount(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      await resolveAccount(request, reply);
      if (!request.accountId) throw new AppError('unauthenticated', 'Sign in to continue.');
    },
    /** Routes that behave differently for signed-in people but are open to everyone. */
    optionalAccount: resolveAccount,
    /** Admin routes: `Authorization: Bearer ADMIN_TOKEN`, compared in constant time. */
    async requireAdmin(request: FastifyRequest): Promise<void> {
      if (!adminToken) {
        throw new AppError('unauthenticated', 'Admin access is not configured on this server: set ADMIN_TOKEN (at least 32 characters) to use the admin API.');
      }
      const header = request.headers.authorization ?? '';
      const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
      if (!presented || !secretsEqual(presented, adminToken)) {
        throw new AppError('unauthenticated', 'This route needs the admin bearer token.');
      }
    },
  };
}

export type Guards = ReturnType<typeof guards>;
