import type { Mailer } from '../mail/mailer.js';
import { invitationEmail, onboardingCompletedEmail, trialEmail, verificationEmail } from '../mail/templates.js';
import type { InvitationRepository } from '../repositories/invitation-repository.js';
import type { TrialRepository } from '../repositories/trial-repository.js';
import type { VerificationRepository } from '../repositories/verification-repository.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import { mintToken } from './tokens.js';

/**
 * Composes and sends the service's emails. Tokens are minted here, at send time, so the raw token
 * exists only in the email: never in a table, a job payload or a log.
 */
export class EmailService {
  constructor(
    private readonly mailer: Mailer,
    private readonly verifications: VerificationRepository,
    private readonly invitations: InvitationRepository,
    private readonly workspaces: WorkspaceRepository,
    private readonly trials: TrialRepository,
    private readonly appBaseUrl: string,
  ) {}

  /** Emails the owners that the trial ends soon or has ended, unless the trial end moved since. */
  async sendTrialEmail(input: { workspaceId: string; kind: 'ending_soon' | 'ended'; trialEndsAt: string }): Promise<boolean> {
    if (!(await this.trials.stillEndsAt(input.workspaceId, input.trialEndsAt))) return false;
    for (const owner of await this.workspaces.owners(input.workspaceId)) {
      await this.mailer.send(
        trialEmail({
          to: owner.email,
          name: owner.name,
          workspaceName: owner.workspaceName,
          kind: input.kind,
          trialEndsAt: new Date(input.trialEndsAt),
          link: `${this.appBaseUrl}/workspaces/${input.workspaceId}/billing`,
        }),
      );
    }
    return true;
  }

  /** Tells the owners that onboarding is complete. */
  async sendOnboardingCompleted(workspaceId: string): Promise<void> {
    for (const owner of await this.workspaces.owners(workspaceId)) {
      const link = `${this.appBaseUrl}/workspaces/${workspaceId}`;
      await this.mailer.send(onboardingCompletedEmail({ to: owner.email, name: owner.name, workspaceName: owner.workspaceName, link }));
    }
  }

  /** Sends an invitation email for the send queued with `placeholderHex`; a repeat or superseded send does nothing. */
  async sendInvitation(invitationId: string, placeholderHex: string): Promise<boolean> {
    const { token, hash } = mintToken();
    const recipient = await this.invitations.replacePlaceholder(invitationId, Buffer.from(placeholderHex, 'hex'), hash);
    if (!recipient) return false;
    const link = `${this.appBaseUrl}/invitations/accept?token=${token}`;
    await this.mailer.send(invitationEmail({ to: recipient.email, ...recipient, link }));
    return true;
  }

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
