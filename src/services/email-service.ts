import type { MailMessage, Mailer } from '../mail/mailer.js';
import { invitationEmail, onboardingCompletedEmail, trialEmail, verificationEmail } from '../mail/templates.js';
import type { EmailDeliveryRepository } from '../repositories/email-delivery-repository.js';
import type { InvitationRepository } from '../repositories/invitation-repository.js';
import type { TrialRepository } from '../repositories/trial-repository.js';
import type { VerificationRepository } from '../repositories/verification-repository.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import { emailedTokens } from './emailed-tokens.js';
import type { TokenDeriver } from './token-deriver.js';

/**
 * Composes and sends the service's emails, at most one per intent. Each email's link is derived
 * from its row (TokenDeriver) and its Message-ID from its intent, so a job retried after an unknown
 * outcome (the mail server accepted, then recording it failed) sends exactly the same message, and
 * whichever copy the person opens works; once an email is recorded as accepted, no retry sends it.
 * No raw token is ever stored: not in a table, a job payload or a log.
 */
export class EmailService {
  constructor(
    private readonly deps: {
      mailer: Mailer;
      tokens: TokenDeriver;
      verifications: VerificationRepository;
      invitations: InvitationRepository;
      workspaces: WorkspaceRepository;
      trials: TrialRepository;
      deliveries: EmailDeliveryRepository;
      appBaseUrl: string;
    },
  ) {}

  /**
   * Emails the owners that the trial ends soon or has ended, unless the trial end moved since; an
   * owner whose copy was accepted on an earlier attempt gets no second one.
   */
  async sendTrialEmail(input: { workspaceId: string; kind: 'ending_soon' | 'ended'; trialEndsAt: string }): Promise<boolean> {
    if (!(await this.deps.trials.stillEndsAt(input.workspaceId, input.trialEndsAt))) return false;
    // The trial end as PostgreSQL wrote it, digits only: one key per trial end, microseconds included.
    const trialEnd = input.trialEndsAt.replace(/\D/g, '');
    for (const owner of await this.deps.workspaces.owners(input.workspaceId)) {
      const message = trialEmail({
        to: owner.email,
        name: owner.name,
        workspaceName: owner.workspaceName,
        kind: input.kind,
        trialEndsAt: new Date(input.trialEndsAt),
        link: `${this.deps.appBaseUrl}/workspaces/${input.workspaceId}/billing`,
      });
      await this.sendOnce(`trial-${input.kind.replace('_', '-')}.${input.workspaceId}.${trialEnd}.${owner.accountId}`, message);
    }
    return true;
  }

  /** Tells the owners that onboarding is complete, once each. */
  async sendOnboardingCompleted(workspaceId: string): Promise<void> {
    for (const owner of await this.deps.workspaces.owners(workspaceId)) {
      const link = `${this.deps.appBaseUrl}/workspaces/${workspaceId}`;
      await this.sendOnce(
        `onboarding-completed.${workspaceId}.${owner.accountId}`,
        onboardingCompletedEmail({ to: owner.email, name: owner.name, workspaceName: owner.workspaceName, link }),
      );
    }
  }

  /**
   * Sends send `sendNumber` of an invitation while it is the current send and the invitation is
   * pending: a superseded, revoked, accepted, expired or already accepted-by-the-server send does
   * nothing. Returns whether it sent.
   */
  async sendInvitation(invitationId: string, sendNumber: number): Promise<boolean> {
    const recipient = await this.deps.invitations.findSendable(invitationId, sendNumber);
    if (!recipient) return false;
    const { token } = emailedTokens.invitation(this.deps.tokens, invitationId, sendNumber);
    const link = `${this.deps.appBaseUrl}/invitations/accept?token=${token}`;
    return this.sendOnce(`invitation.${invitationId}.${sendNumber}`, invitationEmail({ to: recipient.email, ...recipient, link }));
  }

  /**
   * Sends the verification email once: not again after the mail server accepted it, nor after the
   * verification was used, superseded or expired. Returns whether it sent.
   */
  async sendVerification(verificationId: string): Promise<boolean> {
    const recipient = await this.deps.verifications.findUnsent(verificationId);
    if (!recipient) return false;
    const { token, hash } = emailedTokens.verification(this.deps.tokens, verificationId);
    // A row written by a version that stored a random placeholder, before links were derived.
    if (!recipient.tokenHash.equals(hash)) await this.deps.verifications.setUnsentTokenHash(verificationId, hash);
    const link = `${this.deps.appBaseUrl}/verify-email?token=${token}`;
    const message = verificationEmail({ to: recipient.email, name: recipient.name, link, expiresAt: recipient.expiresAt });
    await this.deps.mailer.send({ ...message, messageId: `verification.${verificationId}` });
    await this.deps.verifications.markSent(verificationId);
    return true;
  }

  private sendOnce(key: string, message: MailMessage): Promise<boolean> {
    return sendOnce(this.deps, key, message);
  }
}

/**
 * Sends `message` with the Message-ID of `key` unless an earlier attempt was accepted, then records
 * it: a retry whose first attempt's outcome is unknown sends the identical message, and one after a
 * recorded send sends nothing. Every email job without a sent mark of its own goes through here.
 */
export async function sendOnce(deps: { mailer: Mailer; deliveries: EmailDeliveryRepository }, key: string, message: MailMessage): Promise<boolean> {
  if (await deps.deliveries.wasSent(key)) return false;
  await deps.mailer.send({ ...message, messageId: key });
  await deps.deliveries.insert(key);
  return true;
}
