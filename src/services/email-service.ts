import type { Mailer } from '../mail/mailer.js';
import { verificationEmail } from '../mail/templates.js';
import type { VerificationRepository } from '../repositories/verification-repository.js';
import { mintToken } from './tokens.js';

/**
 * Composes and sends the service's emails. Tokens are minted here, at send time, so the raw token
 * exists only in the email: never in a table, a job payload or a log.
 */
export class EmailService {
  constructor(
    private readonly mailer: Mailer,
    private readonly verifications: VerificationRepository,
    private readonly appBaseUrl: string,
  ) {}

  /**
   * Sends the verification email once: not again after it went out, nor after the verification was
   * used, superseded or expired. A failed send leaves it unsent, so the job's retry mints and sends anew.
   */
  async sendVerification(verificationId: string): Promise<boolean> {
    const { token, hash } = mintToken();
    const recipient = await this.verifications.replaceTokenHash(verificationId, hash);
    if (!recipient) return false;
    const link = `${this.appBaseUrl}/verify-email?token=${token}`;
    await this.mailer.send(verificationEmail({ to: recipient.email, name: recipient.name, link, expiresAt: recipient.expiresAt }));
    await this.verifications.markSent(verificationId);
    return true;
  }
}
