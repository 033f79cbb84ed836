import type { Db, Tx } from '../db/database.js';
import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { SessionRepository } from '../repositories/session-repository.js';
import { verifyPassword } from './passwords.js';
import type { SignInGuard } from './sign-in-guard.js';
import { hashToken, mintToken } from './tokens.js';

/** A session the caller should (re)send as a cookie. */
export interface IssuedSession {
  token: string;
  expiresAt: Date;
}

/** Who a valid session belongs to; `renewed` is set when the sliding expiry moved and the cookie must be sent again. */
export interface Authenticated {
  accountId: string;
  renewed?: IssuedSession;
}

// Extending on every request would write on every read; once a day is enough for a 30-day slide.
const RENEW_AFTER_MS = 24 * 60 * 60 * 1000;
// Bounds memory; the oldest entry goes first (a Map iterates in insertion order).
const MAX_CACHED_SESSIONS = 100_000;

/**
 * Sign-in, sign-out and the sliding session behind the cookie. Live sessions are remembered in
 * process for `cacheSeconds`, so most requests authenticate without a query; ending a session drops
 * it here at once and in every other instance through NOTIFY (see forget).
 */
export class SessionService {
  private readonly cache = new Map<string, { accountId: string; expiresAt: Date; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly accounts: AccountRepository,
    private readonly sessions: SessionRepository,
    private readonly ttlSeconds: number,
    private readonly cacheSeconds: number,
    private readonly guard: SignInGuard,
  ) {}

  /** A new session token, its hash and expiry, not yet stored. */
  mint(): IssuedSession & { hash: Buffer } {
    const { token, hash } = mintToken();
    return { token, hash, expiresAt: this.nextExpiry() };
  }

  /** Opens a session for the account inside `trx`, so it commits with whatever created the account. */
  async open(trx: Tx, accountId: string): Promise<IssuedSession> {
    const { token, hash, expiresAt } = this.mint();
    await this.sessions.withTx(trx).insert({ tokenHash: hash, accountId, expiresAt });
    return { token, expiresAt };
  }

  /**
   * Checks email and password and opens a fresh session (the old one, if any, is ended: rotation).
   * Unknown email and wrong password fail alike, in the same time. While the address is locked
   * after too many failures (see SignInGuard), the password is not even checked.
   */
  async signIn(email: string, password: string, previousToken?: string): Promise<IssuedSession & { accountId: string }> {
    const attempt = await this.guard.admit(email);
    const account = await this.accounts.findByEmail(email.trim());
    const ok = await verifyPassword(account?.passwordHash, password);
    if (!account || !ok) {
      await this.guard.failed(attempt, account?.id);
      throw new AppError('invalid_credentials', 'The email address or password is not correct.');
    }
    await this.guard.succeeded(attempt);
    return this.db.transaction().execute(async (trx) => {
      if (previousToken) await this.end(this.sessions.withTx(trx), previousToken);
      return { ...(await this.open(trx, account.id)), accountId: account.id };
    });
  }

  /** Ends the session behind the token; unknown tokens are ignored. */
  async signOut(token: string): Promise<void> {
    await this.end(this.sessions, token);
  }

  /** The account behind a session token, or undefined; slides the expiry at most once a day. */
  async authenticate(token: string): Promise<Authenticated | undefined> {
    const key = hashToken(token);
    const now = Date.now();
    const cached = this.cache.get(key.toString('hex'));
    const renewAt = now + this.ttlSeconds * 1000 - RENEW_AFTER_MS;
    if (cached && cached.until > now && cached.expiresAt.getTime() > now && cached.expiresAt.getTime() > renewAt) {
      return { accountId: cached.accountId };
    }
    const session = await this.sessions.findLive(key);
    if (!session) return undefined;
    const expiresAt = this.nextExpiry();
    const renew = expiresAt.getTime() - session.expiresAt.getTime() >= RENEW_AFTER_MS;
    if (renew) await this.sessions.extend(session.id, expiresAt);
    this.remember(key, session.accountId, renew ? expiresAt : session.expiresAt);
    return renew ? { accountId: session.accountId, renewed: { token, expiresAt } } : { accountId: session.accountId };
  }

  /** Drops a session from this instance's memory: called for every NOTIFY that a session ended. */
  forget(tokenHashHex: string): void {
    this.cache.delete(tokenHashHex);
  }

  /** Drops every remembered session: after the NOTIFY connection was lost. */
  forgetAll(): void {
    this.cache.clear();
  }

  private remember(key: Buffer, accountId: string, expiresAt: Date): void {
    if (this.cacheSeconds <= 0) return;
    if (this.cache.size >= MAX_CACHED_SESSIONS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key.toString('hex'), { accountId, expiresAt, until: Date.now() + this.cacheSeconds * 1000 });
  }

  private async end(sessions: SessionRepository, token: string): Promise<void> {
    const key = hashToken(token);
    this.forget(key.toString('hex'));
    await sessions.deleteByTokenHash(key);
  }

  /** Deletes expired sessions in batches; returns how many went. */
  async purgeExpired(batchSize: number): Promise<number> {
    return drain(() => this.sessions.deleteExpired(batchSize), batchSize);
  }

  private nextExpiry(): Date {
    return new Date(Date.now() + this.ttlSeconds * 1000);
  }
}

/** Repeats a batch delete until a batch comes back short; returns the total. */
export async function drain(deleteBatch: () => Promise<number>, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch();
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
