import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/database.js';
import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { AuditRepository } from '../repositories/audit-repository.js';
import { enqueueJob } from '../repositories/job-queue.js';
import type { VerificationRepository } from '../repositories/verification-repository.js';
import type { TrialDays, WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { EventRecorder } from './events/event-recorder.js';
import type { RateLimitService } from './rate-limit-service.js';
import { normalizeEmail, verificationJobKey } from './registration-service.js';
import { emailedTokens } from './emailed-tokens.js';
import type { TokenDeriver } from './token-deriver.js';
import { hashToken } from './tokens.js';

/** What verifying an account needs. */
interface VerifyDeps {
  accounts: AccountRepository;
  workspaces: WorkspaceRepository;
  audit: AuditRepository;
  events: EventRecorder;
  /** By the workspace's plan (PLANS), TRIAL_DAYS for others. */
  trialDays: TrialDays;
}

/**
 * Marks the account verified inside `trx` and starts the trial of every workspace it owns that has
 * none yet (never resetting a running clock); audits what changed. The one place a verification
 * takes effect: by email link or by accepting an invitation sent to that address.
 */
export async function verifyAccount(trx: Tx, deps: VerifyDeps, accountId: string): Promise<void> {
  const actor = { type: 'account', id: accountId } as const;
  const verified = await deps.accounts.withTx(trx).markVerified(accountId);
  const started = await deps.workspaces.withTx(trx).startTrialsOwnedBy(accountId, deps.trialDays);
  await deps.audit.withTx(trx).insert(
    ...(verified ? [{ actor, action: 'account.email_verified', accountId }] : []),
    ...started.map((ws) => ({ actor, action: 'trial.started', workspaceId: ws.id, accountId, data: { trialEndsAt: ws.trialEndsAt } })),
  );
  const account = verified ? await deps.accounts.withTx(trx).findById(accountId) : undefined;
  await deps.events.record(
    trx,
    ...(account ? [{ type: 'account.verified' as const, workspaceId: null, data: { accountId, email: account.email } }] : []),
    ...started.map((ws) => ({ type: 'trial.started' as const, workspaceId: ws.id, data: { workspaceId: ws.id, trialEndsAt: ws.trialEndsAt.toISOString() } })),
  );
}

/** Email verification: confirming a token starts the trial; resending supersedes older tokens. */
export class VerificationService {
  constructor(
    private readonly deps: {
      db: Db;
      accounts: AccountRepository;
      workspaces: WorkspaceRepository;
      verifications: VerificationRepository;
      audit: AuditRepository;
      events: EventRecorder;
      tokens: TokenDeriver;
      /** By the workspace's plan (PLANS), TRIAL_DAYS for others. */
      trialDays: TrialDays;
      emailVerificationTtlSeconds: number;
      resendCooldownSeconds: number;
      rateLimits: RateLimitService;
      /** New-link requests per address per minute (RATE_LIMIT_RESENDS_PER_MINUTE). */
      requestsPerAddressPerMinute: number;
    },
  ) {}

  /**
   * Consumes the token (exactly one of any concurrent callers succeeds), verifies the account and
   * starts the trial of every workspace it owns that has none yet, all in one transaction.
   */
  async confirm(token: string): Promise<{ accountId: string }> {
    const tokenHash = hashToken(token);
    const consumed = await this.deps.db.transaction().execute(async (trx) => {
      const verification = await this.deps.verifications.withTx(trx).consume(tokenHash);
      if (!verification) return undefined;
      await verifyAccount(trx, this.deps, verification.accountId);
      return verification;
    });
    if (consumed) return { accountId: consumed.accountId };
    if (await this.deps.verifications.isExpired(tokenHash)) {
      throw new AppError('token_expired', 'This verification link has expired. Ask for a new one and use the link in that email.');
    }
    throw new AppError('invalid_token', 'This verification link is not valid: it was already used or a newer one replaced it.');
  }

  /**
   * Someone signed out asks for a new link by address. Enumeration-safe: the caller learns nothing
   * (the same answer for any address), and the answer takes the same work for any address, since
   * the look-up runs later in a job (sendNewLinkTo). Counted per address, whatever the address.
   */
  async requestNewLink(rawEmail: string): Promise<void> {
    const email = normalizeEmail(rawEmail);
    const { hits, ttlMs } = await this.deps.rateLimits.hit(`verification-request-address|${email}`, 60_000);
    if (hits > this.deps.requestsPerAddressPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError('rate_limited', `Too many requests. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
    // A second request while the first waits replaces it (same job key): one look-up per address.
    await this.deps.db.transaction().execute((trx) => enqueueJob(trx, 'send_new_verification_link', { email }, { jobKey: `verification-request:${email}` }));
  }

  /**
   * The job behind requestNewLink: a new link (through resend, with its cooldown) only when the
   * address belongs to an account that is still unconfirmed; otherwise nothing is sent.
   */
  async sendNewLinkTo(email: string): Promise<void> {
    const account = await this.deps.accounts.findByEmail(email);
    if (!account || account.emailVerifiedAt) return;
    try {
      await this.resend(account.id);
    } catch (error) {
      // Confirmed meanwhile, or a link went out moments ago: that email is the one to use.
      if (error instanceof AppError && (error.code === 'already_verified' || error.code === 'resend_too_soon')) return;
      throw error;
    }
  }

  /** Sends a new verification email and makes every older link stop working. */
  async resend(accountId: string): Promise<void> {
    const { db, resendCooldownSeconds, emailVerificationTtlSeconds } = this.deps;
    await db.transaction().execute(async (trx) => {
      // Locking the account serialises concurrent resends, so the cooldown holds between them too.
      const account = await this.deps.accounts.withTx(trx).lockById(accountId);
      if (!account) throw new AppError('unauthenticated', 'Sign in to continue.');
      if (account.emailVerifiedAt) throw new AppError('already_verified', 'This email address is already verified.');
      const verifications = this.deps.verifications.withTx(trx);
      const age = await verifications.secondsSinceNewest(accountId);
      if (age !== undefined && age < resendCooldownSeconds) {
        const retryAfterSeconds = Math.max(1, Math.ceil(resendCooldownSeconds - age));
        throw new AppError('resend_too_soon', `A verification email was sent moments ago. Check your inbox, or try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
      }
      await verifications.invalidateOpen(accountId);
      const verificationId = randomUUID();
      await verifications.insert({
        id: verificationId,
        accountId,
        tokenHash: emailedTokens.verification(this.deps.tokens, verificationId).hash,
        expiresAt: new Date(Date.now() + emailVerificationTtlSeconds * 1000),
      });
      await enqueueJob(trx, 'send_verification_email', { verificationId }, { jobKey: verificationJobKey(accountId) });
    });
  }
}
