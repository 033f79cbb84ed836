import { AppError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import { signInLockedEmail } from '../mail/templates.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { AuditRepository } from '../repositories/audit-repository.js';
import { enqueueJob } from '../repositories/job-queue.js';
import type { RateLimitService } from './rate-limit-service.js';

const HOUR_MS = 3_600_000;

/** What an admitted sign-in attempt carries to its outcome. */
export interface SignInAttempt {
  address: string;
  /** Time left in the address's window when the attempt was admitted. */
  ttlMs: number;
}

/**
 * Failed sign-ins per address, from any IP (SIGNIN_FAILURES_PER_ADDRESS_PER_HOUR). Each attempt
 * takes a slot before its password is checked, so a burst of concurrent guesses gets no more than
 * the limit through; a right password gives its slot back. Once the failures fill the window, every
 * sign-in for the address, right password included, answers 429 until the window ends, the owner
 * gets one email saying so, and the audit log an `account.sign_in_locked` event. Known and unknown addresses are counted alike, so the lock tells
 * nothing about whether an account exists.
 *
 * Two counters share the window: `attempts` (failures plus attempts in flight) decides admission;
 * `failures` (settled failures only) decides the email, so an attempt in flight that turns out
 * right never sends it.
 */
export class SignInGuard {
  constructor(
    private readonly deps: {
      limits: RateLimitService;
      accounts: AccountRepository;
      audit: AuditRepository;
      mailer: Mailer;
      failuresPerHour: number;
      appBaseUrl: string;
    },
  ) {}

  /** Takes a slot for an attempt at `email`, or refuses it with 429 while the address is locked. */
  async admit(email: string): Promise<SignInAttempt> {
    const address = email.trim().toLowerCase();
    const key = attemptsKey(address);
    const current = await this.deps.limits.peek(key);
    if (current && current.hits >= this.deps.failuresPerHour) throw locked(current.ttlMs);
    const { hits, ttlMs } = await this.deps.limits.hit(key, HOUR_MS);
    if (hits > this.deps.failuresPerHour) {
      await this.deps.limits.release(key);
      throw locked(ttlMs);
    }
    return { address, ttlMs };
  }

  /** The attempt was right: its slot goes back. */
  async succeeded(attempt: SignInAttempt): Promise<void> {
    await this.deps.limits.release(attemptsKey(attempt.address));
  }

  /**
   * The attempt was wrong: its slot stays taken, and the failure is counted in the same window.
   * For a known account, the failure that fills the window records an audit event and queues the
   * lockout email in the same transaction as its count.
   */
  async failed(attempt: SignInAttempt, accountId: string | undefined): Promise<void> {
    await this.deps.limits.hit(failuresKey(attempt.address), Math.max(1, attempt.ttlMs), {
      threshold: this.deps.failuresPerHour,
      onCross: async (trx, lockedUntil) => {
        if (!accountId) return;
        await this.deps.audit.withTx(trx).insert({
          actor: { type: 'system', id: null },
          action: 'account.sign_in_locked',
          accountId,
          data: { failures: this.deps.failuresPerHour, lockedUntil: lockedUntil.toISOString() },
        });
        // A newer lock replaces a notice still queued for an older one.
        await enqueueJob(trx, 'send_sign_in_locked_email', { accountId, lockedUntil: lockedUntil.toISOString() }, { jobKey: `sign_in_locked:${accountId}` });
      },
    });
  }

  /** Tells the owner that sign-in to their account is paused, and until when. */
  async sendLockedEmail(accountId: string, lockedUntil: Date): Promise<boolean> {
    const account = await this.deps.accounts.findById(accountId);
    if (!account) return false;
    await this.deps.mailer.send({
      ...signInLockedEmail({ to: account.email, name: account.name, failures: this.deps.failuresPerHour, lockedUntil, link: `${this.deps.appBaseUrl}/sign-in` }),
      // One lock, one message: a retry after an unknown outcome resends the same Message-ID.
      messageId: `sign-in-locked.${accountId}.${lockedUntil.getTime()}`,
    });
    return true;
  }
}

const attemptsKey = (address: string) => `sign-in-attempts|${address}`;
const failuresKey = (address: string) => `sign-in-failures|${address}`;

function locked(ttlMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError('sign_in_locked', `Too many failed sign-ins for this address. Try again in ${seconds} seconds.`, { retryAfterSeconds: seconds });
}
