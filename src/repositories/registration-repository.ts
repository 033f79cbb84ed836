import { sql } from 'kysely';
import { isUniqueViolation } from '../db/pg-errors.js';
import { emailTaken, type AccountRow } from './account-repository.js';
import { recordEventsCtes, type EventInsert } from './events/event-repository.js';
import { addJobsSql, type JobSpec } from './job-queue.js';
import { Repository } from './repository.js';
import type { WorkspaceRow } from './workspace-repository.js';

/** Everything a sign-up writes, computed by the service beforehand (ids included). */
export interface SignupRows {
  accountId: string;
  workspaceId: string;
  verificationId: string;
  email: string;
  name: string;
  passwordHash: string;
  workspaceName: string;
  /** The workspace's plan id (one of PLANS). */
  plan: string;
  /** Settings to initialise the workspace with right here (initialized_at set); undefined leaves that to its job. */
  initialSettings: Record<string, unknown> | undefined;
  verificationTokenHash: Buffer;
  verificationExpiresAt: Date;
  sessionTokenHash: Buffer;
  sessionExpiresAt: Date;
  jobs: JobSpec[];
  /** Its outbox events (account.registered, workspace.created), recorded by the same statement. */
  events: EventInsert[];
}

/**
 * The sign-up unit of work as ONE statement, atomic on its own: account, workspace, owner
 * membership, onboarding progress, verification token, session, audit event, jobs and outbox events
 * (with their sequence numbers, deliveries and delivery jobs: see recordEventsCtes). Each is a
 * plain insert into its own table; they share a statement because round trips were most of a
 * registration's cost beyond its password hash (bench/registrations.ts).
 */
export class RegistrationRepository extends Repository {
  async insertSignup(rows: SignupRows): Promise<{ account: AccountRow; workspace: WorkspaceRow }> {
    try {
      const { rows: result } = await sql<{ account: AccountRow; workspace: WorkspaceRow }>`
        with account as (
          insert into accounts (id, email, name, password_hash)
          values (${rows.accountId}, ${rows.email}, ${rows.name}, ${rows.passwordHash})
          returning id, email, name, password_hash as "passwordHash", email_verified_at as "emailVerifiedAt", created_at as "createdAt"
        ), workspace as (
          insert into workspaces (id, name, plan, settings, initialized_at)
          values (${rows.workspaceId}, ${rows.workspaceName}, ${rows.plan}, ${rows.initialSettings ? JSON.stringify(rows.initialSettings) : null}::jsonb,
                  ${rows.initialSettings ? sql`now()` : null})
          returning id, name, plan, trial_ends_at as "trialEndsAt", initialized_at as "initializedAt", status,
                    closed_at as "closedAt", created_at as "createdAt"
        ), membership as (
          insert into workspace_members (workspace_id, account_id, role)
          select workspace.id, account.id, 'owner' from workspace, account
        ), progress as (
          insert into onboarding_progress (workspace_id) select id from workspace
        ), verification as (
          insert into email_verifications (id, account_id, token_hash, expires_at)
          select ${rows.verificationId}, id, ${rows.verificationTokenHash}, ${rows.verificationExpiresAt} from account
        ), session as (
          insert into sessions (token_hash, account_id, expires_at)
          select ${rows.sessionTokenHash}, id, ${rows.sessionExpiresAt} from account
        ), audit as (
          insert into audit_events (actor_type, actor_id, action, workspace_id, account_id, data)
          select 'account', account.id::text, 'account.registered', workspace.id, account.id,
                 jsonb_build_object('email', account.email, 'workspaceName', workspace.name)
          from account, workspace
        ), jobs as (
          select count(*) as added from ${addJobsSql(rows.jobs)}
        ), ${recordEventsCtes(rows.events)}
        select to_jsonb(account) as account, to_jsonb(workspace) as workspace
        from account, workspace, jobs, event_jobs`.execute(this.db);
      const row = result[0]!;
      return { account: revive(row.account), workspace: revive(row.workspace) };
    } catch (error) {
      if (isUniqueViolation(error, 'accounts_email_key')) throw emailTaken();
      throw error;
    }
  }
}

/** Rows that came back as JSON: turn their timestamp fields back into Dates. */
function revive<T>(row: T): T {
  const out = { ...row } as Record<string, unknown>;
  for (const key of ['emailVerifiedAt', 'createdAt', 'trialEndsAt', 'initializedAt', 'closedAt']) {
    if (typeof out[key] === 'string') out[key] = new Date(out[key] as string);
  }
  return out as T;
}
