import type { Db, Tx } from '../db/database.js';
import type { Role } from '../db/schema.js';
import { AppError, workspaceNotFound } from '../errors.js';
import type { AuditRepository } from '../repositories/audit-repository.js';
import type { OnboardingRepository } from '../repositories/onboarding-repository.js';
import type { MemberRow, WorkspaceRepository } from '../repositories/workspace-repository.js';
import type { EventRecorder } from './events/event-recorder.js';
import { can, forbidden, ownersOnly, type WorkspaceService } from './workspace-service.js';

/** A member as other members see them. */
export type MemberView = MemberRow;

/** Members: listing, changing roles, removing (or leaving). A workspace always keeps an owner. */
export class MembershipService {
  constructor(
    private readonly deps: { db: Db; workspaces: WorkspaceRepository; onboarding: OnboardingRepository; audit: AuditRepository; events: EventRecorder; access: WorkspaceService },
  ) {}

  async list(workspaceId: string, accountId: string): Promise<MemberView[]> {
    await this.deps.access.getForMember(workspaceId, accountId);
    return this.deps.workspaces.listMembers(workspaceId);
  }

  /** Changes a member's role; only owners grant or take away the owner role. */
  async changeRole(workspaceId: string, actorId: string, targetId: string, role: Role): Promise<MemberView> {
    await this.inLockedWorkspace(workspaceId, actorId, async (trx, actorRole) => {
      if (!can.manageMembers(actorRole)) throw forbidden();
      const workspaces = this.deps.workspaces.withTx(trx);
      const current = await workspaces.findRole(workspaceId, targetId);
      if (!current) throw memberNotFound();
      if ((current === 'owner' || role === 'owner') && !can.manageOwners(actorRole)) throw ownersOnly();
      if (current === role) return;
      if (current === 'owner') await this.keepAnOwner(workspaces, workspaceId);
      await workspaces.updateRole(workspaceId, targetId, role);
      await this.deps.audit.withTx(trx).insert({
        actor: { type: 'account', id: actorId },
        action: 'member.role_changed',
        workspaceId,
        accountId: targetId,
        data: { from: current, to: role },
      });
      await this.deps.events.record(trx, { type: 'member.role_changed', workspaceId, data: { accountId: targetId, from: current, to: role, changedBy: actorId } });
    });
    const member = (await this.deps.workspaces.listMembers(workspaceId)).find((m) => m.accountId === targetId);
    return member!;
  }

  /** Removes a member; any member may remove themself (leaving), owners and admins may remove others. */
  async remove(workspaceId: string, actorId: string, targetId: string): Promise<void> {
    await this.inLockedWorkspace(workspaceId, actorId, async (trx, actorRole) => {
      const leaving = actorId === targetId;
      if (!leaving && !can.manageMembers(actorRole)) throw forbidden();
      const workspaces = this.deps.workspaces.withTx(trx);
      const current = await workspaces.findRole(workspaceId, targetId);
      if (!current) throw memberNotFound();
      if (current === 'owner' && !leaving && !can.manageOwners(actorRole)) throw ownersOnly();
      if (current === 'owner') await this.keepAnOwner(workspaces, workspaceId);
      await workspaces.deleteMember(workspaceId, targetId);
      await this.deps.onboarding.withTx(trx).notifyStatusChanged({ accountIds: [targetId] });
      await this.deps.audit.withTx(trx).insert({
        actor: { type: 'account', id: actorId },
        action: 'member.removed',
        workspaceId,
        accountId: targetId,
        data: { role: current, left: leaving },
      });
      await this.deps.events.record(trx, { type: 'member.removed', workspaceId, data: { accountId: targetId, role: current, left: leaving, removedBy: actorId } });
    });
  }

  /**
   * Runs a membership change under the workspace's row lock, so concurrent changes (two owners
   * demoting each other) run one after the other and each sees the other's result.
   */
  private async inLockedWorkspace(workspaceId: string, actorId: string, change: (trx: Tx, actorRole: Role) => Promise<void>): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const workspaces = this.deps.workspaces.withTx(trx);
      if (!(await workspaces.lock(workspaceId))) throw workspaceNotFound();
      const actorRole = await workspaces.findRole(workspaceId, actorId);
      if (!actorRole) throw workspaceNotFound();
      await change(trx, actorRole);
    });
  }

  /** Refuses a change that would take away the last owner; called after the workspace is locked. */
  private async keepAnOwner(workspaces: WorkspaceRepository, workspaceId: string): Promise<void> {
    if ((await workspaces.countOwners(workspaceId)) <= 1) {
      throw new AppError('last_owner', 'A workspace needs at least one owner. Make someone else an owner first.');
    }
  }
}



function memberNotFound(): AppError {
  return new AppError('not_found', 'This account is not a member of the workspace.');
}
