import type { Role } from '../db/schema.js';
import { AppError, workspaceNotFound } from '../errors.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import { toMembershipView, type MembershipView } from './views.js';

/** Which roles may do what in a workspace: the one place that decides. */
export const can = {
  manageMembers: (role: Role) => role === 'owner' || role === 'admin',
  manageOwners: (role: Role) => role === 'owner',
};

/** Reading workspaces, for members only. */
export class WorkspaceService {
  constructor(private readonly workspaces: WorkspaceRepository) {}

  /** The workspace as its member sees it; 404 for non-members and unknown ids alike. */
  async getForMember(workspaceId: string, accountId: string): Promise<MembershipView> {
    const membership = await this.workspaces.findMembership(workspaceId, accountId);
    if (!membership) throw workspaceNotFound();
    return toMembershipView(membership);
  }

  /** Like getForMember, and also requires a role that passes `allowed`. */
  async requireRole(workspaceId: string, accountId: string, allowed: (role: Role) => boolean): Promise<MembershipView> {
    const membership = await this.getForMember(workspaceId, accountId);
    if (!allowed(membership.role)) throw forbidden();
    return membership;
  }
}

/** The refusal for a member whose role does not allow an action. */
export function forbidden(): AppError {
  return new AppError('forbidden', 'Your role in this workspace does not allow this action. Ask an owner or admin.');
}

/** The refusal for anyone but an owner touching the owner role. */
export function ownersOnly(): AppError {
  return new AppError('forbidden', 'Only an owner can grant, invite or remove the owner role.');
}
