import type { Role, WorkspaceStatus } from '../db/schema.js';
import type { AccountRow } from '../repositories/account-repository.js';
import type { MembershipRow, WorkspaceRow } from '../repositories/workspace-repository.js';

/**
 * The named fields of a row: a view lists what it shows, so a column added to the row later (a
 * secret, a hash) never reaches a caller by default.
 */
export function pick<T extends object, K extends keyof T>(row: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, row[key]])) as Pick<T, K>;
}

/** Where a workspace's trial stands: not started until the owner verifies, then running, then over. */
export type TrialState = 'pending_verification' | 'active' | 'expired';

/** The one place that derives trial state from the trial end. */
export function trialState(trialEndsAt: Date | null, now: Date = new Date()): TrialState {
  if (trialEndsAt === null) return 'pending_verification';
  return trialEndsAt.getTime() > now.getTime() ? 'active' : 'expired';
}

/** An account as callers see it. */
export interface AccountView {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
}

/** A workspace as callers see it. */
export interface WorkspaceView {
  id: string;
  name: string;
  plan: string;
  status: WorkspaceStatus;
  trialEndsAt: Date | null;
  trialState: TrialState;
  initializedAt: Date | null;
  createdAt: Date;
}

/** A workspace seen by one of its members. */
export interface MembershipView extends WorkspaceView {
  role: Role;
}

export function toAccountView(row: AccountRow): AccountView {
  return { id: row.id, email: row.email, name: row.name, emailVerified: row.emailVerifiedAt !== null };
}

export function toWorkspaceView(row: WorkspaceRow): WorkspaceView {
  return { ...pick(row, 'id', 'name', 'plan', 'status', 'trialEndsAt', 'initializedAt', 'createdAt'), trialState: trialState(row.trialEndsAt) };
}

export function toMembershipView(row: MembershipRow): MembershipView {
  return { ...toWorkspaceView(row), role: row.role };
}
