import { sql } from 'kysely';
import { Repository } from './repository.js';
import type { WorkspaceRow } from './workspace-repository.js';

/** What creating a workspace for an existing account writes. */
export interface NewWorkspaceRows {
  workspaceId: string;
  accountId: string;
  name: string;
  plan: string;
  /** Days of trial to start now (the owner is verified), or null to start it at verification. */
  trialDays: number | null;
}

/**
 * A signed-in account's new workspace as ONE statement: the workspace (its trial running already
 * when the owner is verified), the owner membership, onboarding progress and the audit events.
 */
export class NewWorkspaceRepository extends Repository {
  async insertOwned(rows: NewWorkspaceRows): Promise<WorkspaceRow> {
    const { rows: result } = await sql<WorkspaceRow>`
      with workspace as (
        insert into workspaces (id, name, plan, trial_ends_at)
        values (${rows.workspaceId}, ${rows.name}, ${rows.plan},
                case when ${rows.trialDays}::int is null then null else now() + make_interval(days => ${rows.trialDays}::int) end)
        returning id, name, plan, trial_ends_at as "trialEndsAt", initialized_at as "initializedAt", status,
                  closed_at as "closedAt", created_at as "createdAt"
      ), membership as (
        insert into workspace_members (workspace_id, account_id, role) select id, ${rows.accountId}, 'owner' from workspace
      ), progress as (
        insert into onboarding_progress (workspace_id) select id from workspace
      ), audit as (
        insert into audit_events (actor_type, actor_id, action, workspace_id, account_id, data)
        select 'account', ${rows.accountId}, 'workspace.created', id, ${rows.accountId}::uuid, jsonb_build_object('name', name, 'plan', plan) from workspace
        union all
        select 'account', ${rows.accountId}, 'trial.started', id, ${rows.accountId}::uuid, jsonb_build_object('trialEndsAt', "trialEndsAt") from workspace
        where "trialEndsAt" is not null
      )
      select * from workspace`.execute(this.db);
    return result[0]!;
  }
}
