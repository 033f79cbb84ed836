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
