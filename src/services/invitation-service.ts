import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/database.js';
import type { Role } from '../db/schema.js';
import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { AuditRepository } from '../repositories/audit-repository.js';
import type { InvitationRepository, InvitationRow } from '../repositories/invitation-repository.js';
import { enqueueJob } from '../repositories/job-queue.js';
import type { OnboardingRepository } from '../repositories/onboarding-repository.js';
import type { SessionRepository } from '../repositories/session-repository.js';
import type { TrialDays, WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { EventRecorder } from './events/event-recorder.js';
import { hashPassword } from './passwords.js';
import { normalizeEmail } from './registration-service.js';
import type { IssuedSession, SessionService } from './session-service.js';
import { emailedTokens } from './emailed-tokens.js';
import type { TokenDeriver } from './token-deriver.js';
import { hashToken } from './tokens.js';
import { verifyAccount } from './verification-service.js';
import { pick } from './views.js';
import { can, ownersOnly, type WorkspaceService } from './workspace-service.js';

/** An invitation as callers see it. */
export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  status: InvitationRow['status'];
  expiresAt: Date;
  invitedBy: { accountId: string | null; name: string | null };
  createdAt: Date;
}

/** What anyone holding the link may see before accepting. */
export interface InvitationPreview {
  workspace: { id: string; name: string };
  email: string;
  role: Role;
  invitedBy: { name: string | null };
  expiresAt: Date;
  accountExists: boolean;
}

/** The outcome of accepting: the workspace joined, and a session when a new account was made. */
export interface Acceptance {
  workspace: { id: string; name: string };
  role: Role;
  created: boolean;
  accountId: string;
  session?: IssuedSession;
}

function toView(row: InvitationRow): InvitationView {
  return { ...pick(row, 'id', 'email', 'role', 'status', 'expiresAt', 'createdAt'), invitedBy: { accountId: row.invitedBy, name: row.inviterName } };
}

const invitationNotFound = () => new AppError('invitation_not_found', 'This invitation does not exist, was revoked, or was already used.');
const invitationExpired = () => new AppError('invitation_expired', 'This invitation has expired. Ask the person who invited you to send a new one.');

/** Invitations: sending, resending, revoking, previewing and accepting. */
export class InvitationService {
  constructor(
    private readonly deps: {
      db: Db;
      accounts: AccountRepository;
      workspaces: WorkspaceRepository;
      invitations: InvitationRepository;
      onboarding: OnboardingRepository;
      sessionRows: SessionRepository;
      audit: AuditRepository;
      events: EventRecorder;
      access: WorkspaceService;
      sessions: SessionService;
      tokens: TokenDeriver;
      invitationTtlSeconds: number;
      resendCooldownSeconds: number;
      /** By the workspace's plan (PLANS), TRIAL_DAYS for others. */
      trialDays: TrialDays;
    },
  ) {}

  /** Invites an address; owners and admins may, and only owners may invite owners. */
  async invite(workspaceId: string, inviterId: string, input: { email: string; role: Role }): Promise<InvitationView> {
    const email = normalizeEmail(input.email);
    const inviter = await this.deps.access.requireRole(workspaceId, inviterId, can.manageMembers);
    if (input.role === 'owner' && !can.manageOwners(inviter.role)) throw ownersOnly();
    const id = await this.deps.db.transaction().execute(async (trx) => {
      if (await this.deps.workspaces.withTx(trx).hasMemberWithEmail(workspaceId, email)) {
        throw new AppError('already_member', 'This person is already a member of the workspace.', { fields: [{ field: 'email', message: 'is already a member' }] });
      }
      const invitations = this.deps.invitations.withTx(trx);
      await invitations.expireStale(workspaceId, email);
      const invitationId = randomUUID();
      const { hash: tokenHash } = emailedTokens.invitation(this.deps.tokens, invitationId, 1);
      if (!(await invitations.insertPending({ id: invitationId, workspaceId, email, role: input.role, invitedBy: inviterId, tokenHash, expiresAt: this.expiry() }))) {
        return undefined;
      }
      await this.queueEmail(trx, invitationId, 1);
      await this.deps.audit.withTx(trx).insert({
        actor: { type: 'account', id: inviterId },
        action: 'invitation.sent',
        workspaceId,
        data: { invitationId, email, role: input.role },
      });
      await this.deps.events.record(trx, { type: 'member.invited', workspaceId, data: { invitationId, email, role: input.role, invitedBy: inviterId } });
      return invitationId;
    });
    if (!id) {
      const pending = await this.deps.invitations.findPendingByEmail(workspaceId, email);
      throw new AppError('invitation_pending', 'This address already has a pending invitation. Resend it instead.', { extra: { invitationId: pending?.id } });
    }
    return toView((await this.deps.invitations.findById(workspaceId, id))!);
  }

  /** Sends a pending invitation again with a new token (the old link stops working) and a fresh expiry. */
  async resend(workspaceId: string, accountId: string, invitationId: string): Promise<InvitationView> {
    await this.withPendingInvitation(workspaceId, accountId, invitationId, async (trx, invitation) => {
      const invitations = this.deps.invitations.withTx(trx);
      const age = (Date.now() - invitation.sentAt.getTime()) / 1000;
      if (age < this.deps.resendCooldownSeconds) {
        const retryAfterSeconds = Math.max(1, Math.ceil(this.deps.resendCooldownSeconds - age));
        throw new AppError('resend_too_soon', `This invitation was sent moments ago. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
      }
      const sendNumber = invitation.sendNumber + 1;
      const { hash: tokenHash } = emailedTokens.invitation(this.deps.tokens, invitationId, sendNumber);
      await invitations.renew(invitationId, { sendNumber, tokenHash, expiresAt: this.expiry() });
      await this.queueEmail(trx, invitationId, sendNumber);
      await this.deps.audit.withTx(trx).insert({ actor: { type: 'account', id: accountId }, action: 'invitation.resent', workspaceId, data: { invitationId } });
    });
    return toView((await this.deps.invitations.findById(workspaceId, invitationId))!);
  }

  /** Queues the email of one send; a queued, unsent earlier send of the invitation is replaced. */
  private queueEmail(trx: Tx, invitationId: string, sendNumber: number): Promise<void> {
    return enqueueJob(trx, 'send_invitation_email', { invitationId, sendNumber }, { jobKey: `invitation-email:${invitationId}` });
  }

  /** Revokes a pending invitation; its link answers 404 from then on. */
  async revoke(workspaceId: string, accountId: string, invitationId: string): Promise<void> {
    await this.withPendingInvitation(workspaceId, accountId, invitationId, async (trx, invitation) => {
      await this.deps.invitations.withTx(trx).revoke(workspaceId, invitationId);
      await this.deps.audit.withTx(trx).insert({ actor: { type: 'account', id: accountId }, action: 'invitation.revoked', workspaceId, data: { invitationId, email: invitation.email } });
    });
  }

  /**
   * Runs `change` with a pending invitation locked, for a member allowed to manage it (owners only
   * for owner invitations); 404 when it is not pending.
   */
  private async withPendingInvitation(
    workspaceId: string,
    accountId: string,
    invitationId: string,
    change: (trx: Tx, invitation: InvitationRow) => Promise<void>,
  ): Promise<void> {
    const member = await this.deps.access.requireRole(workspaceId, accountId, can.manageMembers);
    await this.deps.db.transaction().execute(async (trx) => {
      const invitation = await this.deps.invitations.withTx(trx).lockById(workspaceId, invitationId);
      if (!invitation || invitation.status !== 'pending') throw invitationNotFound();
      if (invitation.role === 'owner' && !can.manageOwners(member.role)) throw ownersOnly();
      await change(trx, invitation);
    });
  }

  /** Pending invitations, for owners and admins. */
  async listPending(workspaceId: string, accountId: string): Promise<InvitationView[]> {
    await this.deps.access.requireRole(workspaceId, accountId, can.manageMembers);
    return (await this.deps.invitations.listPending(workspaceId)).map(toView);
  }

  /** What the link shows before accepting; looking never consumes it. */
  async preview(token: string): Promise<InvitationPreview> {
    const invitation = await this.usable(token);
    const workspace = await this.deps.workspaces.findById(invitation.workspaceId);
    if (!workspace) throw invitationNotFound();
    return {
      workspace: { id: workspace.id, name: workspace.name },
      email: invitation.email,
      role: invitation.role,
      invitedBy: { name: invitation.inviterName },
      expiresAt: invitation.expiresAt,
      accountExists: (await this.deps.accounts.findByEmail(invitation.email)) !== undefined,
    };
  }

  /**
   * Accepts an invitation. Signed in as the invited address: joins (verifying the address if needed).
   * Not signed in, no account yet: creates one, verified, with a session. Exactly one of any number of
   * simultaneous accepts consumes the token; the rest find the membership already there.
   */
  async accept(input: { token: string; accountId?: string; name?: string; password?: string }): Promise<Acceptance> {
    const tokenHash = hashToken(input.token);
    const invitation = await this.deps.invitations.findByTokenHash(tokenHash);
    if (!invitation) throw invitationNotFound();
    if (input.accountId) return this.acceptAsMember(invitation, tokenHash, input.accountId);
    return this.acceptAsNewcomer(invitation, tokenHash, input);
  }

  private async acceptAsMember(invitation: InvitationRow, tokenHash: Buffer, accountId: string): Promise<Acceptance> {
    const account = await this.deps.accounts.findById(accountId);
    if (!account) throw new AppError('unauthenticated', 'Sign in to continue.');
    if (account.email.toLowerCase() !== invitation.email.toLowerCase()) {
      throw new AppError('invitation_email_mismatch', `This invitation was sent to another address. Sign in as ${invitation.email} to accept it.`);
    }
    const accepted = await this.deps.db.transaction().execute(async (trx) => {
      const consumed = await this.deps.invitations.withTx(trx).consume(tokenHash, accountId);
      if (!consumed) return false;
      await this.join(trx, consumed, accountId);
      await verifyAccount(trx, this.deps, accountId);
      return true;
    });
    if (!accepted) await this.requireAlreadyJoined(invitation, accountId);
    return this.acceptance(invitation, accountId, false);
  }

  private async acceptAsNewcomer(invitation: InvitationRow, tokenHash: Buffer, input: { name?: string; password?: string }): Promise<Acceptance> {
    if (await this.deps.accounts.findByEmail(invitation.email)) {
      throw new AppError('sign_in_required', `An account for ${invitation.email} exists. Sign in, then accept the invitation.`);
    }
    this.assertUsable(invitation);
    const fields = [
      ...(input.name ? [] : [{ field: 'name', message: 'is required to create your account' }]),
      ...(input.password ? [] : [{ field: 'password', message: 'is required to create your account' }]),
    ];
    if (fields.length > 0) throw new AppError('validation_failed', 'To join, choose your name and a password.', { fields });
    const passwordHash = await hashPassword(input.password!);
    const session = this.deps.sessions.mint();
    const accountId = await this.deps.db.transaction().execute(async (trx) => {
      const consumed = await this.deps.invitations.withTx(trx).consume(tokenHash, null);
      if (!consumed) return undefined;
      const account = await this.deps.accounts.withTx(trx).insert({ email: consumed.email, name: input.name!, passwordHash, verified: true });
      await this.deps.invitations.withTx(trx).setAcceptedBy(consumed.id, account.id);
      await this.deps.events.record(trx, {
        type: 'account.registered',
        workspaceId: consumed.workspaceId,
        data: { accountId: account.id, email: account.email, name: account.name, emailVerified: true, via: 'invitation' },
      });
      await this.deps.sessionRows.withTx(trx).insert({ tokenHash: session.hash, accountId: account.id, expiresAt: session.expiresAt });
      await this.join(trx, consumed, account.id);
      return account.id;
    });
    if (!accountId) {
      // Someone else accepted it in the meantime: if that made the account, this person should sign in.
      const now = await this.deps.invitations.findByTokenHash(tokenHash);
      if (now?.status === 'accepted') throw new AppError('sign_in_required', `This invitation was just accepted. Sign in as ${invitation.email} to continue.`);
      throw invitationNotFound();
    }
    return { ...(await this.acceptance(invitation, accountId, true)), session: { token: session.token, expiresAt: session.expiresAt } };
  }

  private async join(trx: Tx, invitation: InvitationRow, accountId: string): Promise<void> {
    const joined = await this.deps.workspaces.withTx(trx).insertMember({ workspaceId: invitation.workspaceId, accountId, role: invitation.role });
    await this.deps.onboarding.withTx(trx).notifyStatusChanged({ accountIds: [accountId] });
    await this.deps.audit.withTx(trx).insert({
      actor: { type: 'account', id: accountId },
      action: 'invitation.accepted',
      workspaceId: invitation.workspaceId,
      accountId,
      data: { invitationId: invitation.id, role: invitation.role },
    });
    if (joined) {
      await this.deps.events.record(trx, { type: 'member.joined', workspaceId: invitation.workspaceId, data: { accountId, email: invitation.email, role: invitation.role, invitationId: invitation.id } });
    }
  }

  /** The token was not consumed now: fine if this account already joined through it (a repeat). */
  private async requireAlreadyJoined(invitation: InvitationRow, accountId: string): Promise<void> {
    const role = await this.deps.workspaces.findRole(invitation.workspaceId, accountId);
    if (role !== undefined && (invitation.status === 'accepted' || invitation.status === 'pending')) return;
    this.assertUsable(invitation);
    throw invitationNotFound();
  }

  private async acceptance(invitation: InvitationRow, accountId: string, created: boolean): Promise<Acceptance> {
    const workspace = await this.deps.workspaces.findById(invitation.workspaceId);
    const role = (await this.deps.workspaces.findRole(invitation.workspaceId, accountId)) ?? invitation.role;
    return { workspace: { id: workspace!.id, name: workspace!.name }, role, created, accountId };
  }

  /** The invitation behind a token, if it can still be accepted. */
  /**
   * What became of the invitation behind a link that no longer works, so a page can say which case
   * it is: 'accepted', 'revoked', 'expired', or 'unknown' (never existed, or replaced by a resend).
   */
  async linkState(token: string): Promise<'pending' | 'accepted' | 'revoked' | 'expired' | 'unknown'> {
    const invitation = await this.deps.invitations.findByTokenHash(hashToken(token));
    if (!invitation) return 'unknown';
    if (invitation.status === 'pending' && invitation.expiresAt.getTime() <= Date.now()) return 'expired';
    return invitation.status;
  }

  private async usable(token: string): Promise<InvitationRow> {
    const invitation = await this.deps.invitations.findByTokenHash(hashToken(token));
    if (!invitation) throw invitationNotFound();
    this.assertUsable(invitation);
    return invitation;
  }

  private assertUsable(invitation: InvitationRow): void {
    if (invitation.status === 'expired' || (invitation.status === 'pending' && invitation.expiresAt.getTime() <= Date.now())) throw invitationExpired();
    if (invitation.status !== 'pending') throw invitationNotFound();
  }

  private expiry(): Date {
    return new Date(Date.now() + this.deps.invitationTtlSeconds * 1000);
  }
}

