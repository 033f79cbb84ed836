import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { secretsEqual } from '../../services/tokens.js';

export const ADMIN_PAGE_COOKIE = 'admin_page';
/** How long an admin stays signed in to the pages. */
export const ADMIN_PAGE_SESSION_SECONDS = 8 * 3600;

/**
 * The admin pages' session: a cookie holding who signed in and until when, signed with HMAC keyed
 * by ADMIN_TOKEN itself (so changing the token ends every page session). The token never reaches
 * the page: the cookie is HttpOnly, SameSite=Strict, Secure on https, scoped to /admin, and expires.
 */
export function adminPageSessions(adminToken: string | undefined, secure: boolean) {
  const options = { path: '/admin', httpOnly: true, sameSite: 'strict' as const, secure };
  const sign = (payload: string) => createHmac('sha256', `admin-page-session:${adminToken}`).update(payload).digest('base64url');

  return {
    start(reply: FastifyReply, actor: string): void {
      const expiresAt = new Date(Date.now() + ADMIN_PAGE_SESSION_SECONDS * 1000);
      const payload = Buffer.from(JSON.stringify({ actor, exp: expiresAt.getTime() })).toString('base64url');
      reply.setCookie(ADMIN_PAGE_COOKIE, `${payload}.${sign(payload)}`, { ...options, expires: expiresAt });
    },
    end(reply: FastifyReply): void {
      reply.clearCookie(ADMIN_PAGE_COOKIE, options);
    },
    /** Who is signed in, or undefined (no cookie, a forged or expired one, or no ADMIN_TOKEN). */
    actor(request: FastifyRequest): string | undefined {
      const value = request.cookies[ADMIN_PAGE_COOKIE];
      if (!adminToken || !value) return undefined;
      const [payload, signature] = value.split('.');
      if (!payload || !signature || !secretsEqual(signature, sign(payload))) return undefined;
      try {
        const { actor, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { actor: string; exp: number };
        return typeof exp === 'number' && exp > Date.now() && typeof actor === 'string' ? actor : undefined;
      } catch {
        return undefined;
      }
    },
    /** Whether `presented` is the admin token (constant time). */
    tokenMatches(presented: string): boolean {
      return adminToken !== undefined && presented.length > 0 && secretsEqual(presented, adminToken);
    },
  };
}
