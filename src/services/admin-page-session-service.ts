import { createHmac } from 'node:crypto';
import { AppError } from '../errors.js';
import type { AdminPageSessionRepository } from '../repositories/admin-page-session-repository.js';
import { drain } from './session-service.js';
import { hashToken, mintToken, secretsEqual } from './tokens.js';

/** How long an admin stays signed in to the pages. */
export const ADMIN_PAGE_SESSION_SECONDS = 8 * 3600;

/**
 * The admin pages' sign-in, kept server-side: the cookie holds a random token whose SHA-256 names a
 * row, so signing out deletes the row and a copied cookie stops working at once. Each row carries
 * an HMAC of the ADMIN_TOKEN it was opened under (never the token): changing ADMIN_TOKEN ends every
 * page session, as a team rotating a leaked token expects.
 */
export class AdminPageSessionService {
  private readonly adminTokenMac: Buffer | undefined;

  constructor(
    private readonly sessions: AdminPageSessionRepository,
    private readonly adminToken: string | undefined,
  ) {
    this.adminTokenMac = adminToken === undefined ? undefined : createHmac('sha256', adminToken).update('admin-page-session').digest();
  }

  /** Whether `presented` is the admin token (constant time); always false when none is configured. */
  tokenMatches(presented: string): boolean {
    return this.adminToken !== undefined && presented.length > 0 && secretsEqual(presented, this.adminToken);
  }

  /** Opens a session for `actor` after the admin token was checked; returns the cookie's token. */
  async open(actor: string): Promise<{ token: string; expiresAt: Date }> {
    if (!this.adminTokenMac) throw new AppError('unauthenticated', 'Admin access is not configured on this server.');
    const { token, hash } = mintToken();
    const expiresAt = new Date(Date.now() + ADMIN_PAGE_SESSION_SECONDS * 1000);
    await this.sessions.insert({ tokenHash: hash, adminTokenMac: this.adminTokenMac, actor, expiresAt });
    return { token, expiresAt };
  }

  /** Who a cookie's token signs in, or undefined (unknown, ended, expired, or opened under another admin token). */
  async actor(token: string | undefined): Promise<string | undefined> {
    if (!this.adminTokenMac || !token || token.length > 100) return undefined;
    return this.sessions.findLiveActor(hashToken(token), this.adminTokenMac);
  }

  /** Ends the session the token names, if any. */
  async close(token: string | undefined): Promise<void> {
    if (token && token.length <= 100) await this.sessions.deleteByTokenHash(hashToken(token));
  }

  /** Deletes expired sessions in batches; returns how many went. */
  purgeExpired(batchSize: number): Promise<number> {
    return drain(() => this.sessions.deleteExpired(batchSize), batchSize);
  }
}
