import type { InvitationPreview, InvitationView } from '../services/invitation-service.js';
import type { MemberView } from '../services/membership-service.js';
import type { AccountView, MembershipView, WorkspaceView } from '../services/views.js';

/** A time as ISO 8601; accepts what came back from JSON already. */
export function iso(value: Date | string): string;
export function iso(value: Date | string | null): string | null;
export function iso(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export function accountJson(account: AccountView) {
  return { id: account.id, email: account.email, name: account.name, emailVerified: account.emailVerified };
}

export function workspaceJson(workspace: WorkspaceView) {
  return {
    id: workspace.id,
    name: workspace.name,
    plan: workspace.plan,
    status: workspace.status,
    trialEndsAt: iso(workspace.trialEndsAt),
    trialState: workspace.trialState,
    initializedAt: iso(workspace.initializedAt),
    createdAt: iso(workspace.createdAt),
  };
}

export function membershipJson(membership: MembershipView) {
  return { ...workspaceJson(membership), role: membership.role };
}

export function invitationJson(invitation: InvitationView) {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    status: invitation.status,
    expiresAt: iso(invitation.expiresAt),
    invitedBy: invitation.invitedBy,
    createdAt: iso(invitation.createdAt),
  };
}

export function invitationPreviewJson(preview: InvitationPreview) {
  return { ...preview, expiresAt: iso(preview.expiresAt) };
}

export function memberJson(member: MemberView) {
  return { accountId: member.accountId, name: member.name, email: member.email, role: member.role, joinedAt: iso(member.joinedAt) };
}
