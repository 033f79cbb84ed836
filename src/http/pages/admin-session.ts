import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminPageSessionService } from '../../services/admin-page-session-service.js';

export const ADMIN_PAGE_COOKIE = 'admin_page';

/**
 * The admin pages' session cookie: it holds only the random token of a server-side session (see
 * AdminPageSessionService), never the admin token. HttpOnly, SameSite=Strict, Secure on https,
 * scoped to /admin, and it expires with the session.
 */
export function adminPageSessions(sessions: AdminPageSessionService, secure: boolean) {
  const options = { path: '/admin', httpOnly: true, sameSite: 'strict' as const, secure };
  return {
    async start(reply: FastifyReply, actor: string): Promise<void> {
      const { token, expiresAt } = await sessions.open(actor);
      reply.setCookie(ADMIN_PAGE_COOKIE, token, { ...options, expires: expiresAt });
    },
    /** Deletes the server-side session, so a copy of the cookie is worthless too, and clears the cookie. */
    async end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      await sessions.close(request.cookies[ADMIN_PAGE_COOKIE]);
      reply.clearCookie(ADMIN_PAGE_COOKIE, options);
    },
    /** Who is signed in, or undefined (no cookie, or one naming no live session). */
    actor(request: FastifyRequest): Promise<string | undefined> {
      return sessions.actor(request.cookies[ADMIN_PAGE_COOKIE]);
    },
    tokenMatches: (presented: string) => sessions.tokenMatches(presented),
  };
}
