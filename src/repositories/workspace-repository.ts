import { sql } from 'kysely';
import type { Role, WorkspaceStatus } from '../db/schema.js';
import { Repository } from './repository.js';

/** A trial's length in days by the workspace's plan id (PLANS), and for a plan not listed there. */
export interface TrialDays {
  byPlan: Record<string, number>;
  otherwise: number;
}

/** A workspace as the services see it. */
export interface WorkspaceRow {
  id: string;
  name: string;
  plan: string;
  trialEndsAt: Date | null;
  initializedAt: Date | null;
  status: WorkspaceStatus;
  closedAt: Date | null;
  createdAt: Date;
}

/** A member of a workspace with their account. */
export interface MemberRow {
  accountId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: Date;
}

/** A workspace together with one account's role in it. */
export interface MembershipRow extends WorkspaceRow {
  role: Role;
}

// Unqualified: none of these names exists in workspace_members, so they also work in its joins.
const workspaceColumns = [
  'id',
  'name',
  'plan',
  'trial_ends_at as trialEndsAt',
  'initialized_at as initializedAt',
  'status',
  'closed_at as closedAt',
  'created_at as createdAt',
] as const;

/** SQL for workspaces and their memberships. */
export class WorkspaceRepository extends Repository {
  /** A new workspace; without a plan it gets the column default (the free trial plan). */
  async insert(name: string, plan?: string): Promise<WorkspaceRow> {
    return this.db
      .insertInto('workspaces')
      .values({ name, ...(plan ? { plan } : {}) })
      .returning(workspaceColumns)
      .executeTakeFirstOrThrow();
  }

  async findById(id: string): Promise<WorkspaceRow | undefined> {
    return this.db.selectFrom('workspaces').select(workspaceColumns).where('id', '=', id).executeTakeFirst();
  }

  /** The workspace if `accountId` is a member of it, with their role. */
  async findMembership(workspaceId: string, accountId: string): Promise<MembershipRow | undefined> {
    return this.db
      .selectFrom('workspaces as w')
      .innerJoin('workspace_members as m', 'm.workspace_id', 'w.id')
      .select([...workspaceColumns, 'm.role'])
      .where('w.id', '=', workspaceId)
      .where('m.account_id', '=', accountId)
      .executeTakeFirst();
  }

  /** Every workspace the account belongs to, oldest membership first. */
  async listForAccount(accountId: string): Promise<MembershipRow[]> {
    return this.db
      .selectFrom('workspaces as w')
      .innerJoin('workspace_members as m', 'm.workspace_id', 'w.id')
      .select([...workspaceColumns, 'm.role'])
      .where('m.account_id', '=', accountId)
      .orderBy('m.joined_at')
      .orderBy('w.id')
      .execute();
  }

  /** Locks the workspace row: every membership change takes this lock first, so they run one at a time. */
  async lock(id: string): Promise<WorkspaceRow | undefined> {
    return this.db.selectFrom('workspaces').select(workspaceColumns).where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /** Members with their accounts, oldest first. */
  async listMembers(workspaceId: string): Promise<MemberRow[]> {
    return this.db
      .selectFrom('workspace_members as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select(['m.account_id as accountId', 'a.name', 'a.email', 'm.role', 'm.joined_at as joinedAt'])
      .where('m.workspace_id', '=', workspaceId)
      .orderBy('m.joined_at')
      .orderBy('m.account_id')
      .execute();
  }

  /** The member's role, or undefined when the account is not a member. */
  async findRole(workspaceId: string, accountId: string): Promise<Role | undefined> {
    const row = await this.db
      .selectFrom('workspace_members')
      .select('role')
      .where('workspace_id', '=', workspaceId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row?.role;
  }

  /** Whether an account with this address is a member. */
  async hasMemberWithEmail(workspaceId: string, email: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('workspace_members as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .select('m.account_id')
      .where('m.workspace_id', '=', workspaceId)
      .where(sql`lower(a.email)`, '=', email.toLowerCase())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The workspace's name and its owners' addresses, for emails to owners. */
  async owners(workspaceId: string): Promise<{ workspaceName: string; accountId: string; email: string; name: string }[]> {
    return this.db
      .selectFrom('workspace_members as m')
      .innerJoin('accounts as a', 'a.id', 'm.account_id')
      .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
      .select(['w.name as workspaceName', 'a.id as accountId', 'a.email', 'a.name'])
      .where('m.workspace_id', '=', workspaceId)
      .where('m.role', '=', 'owner')
      .orderBy('m.joined_at')
      .execute();
  }

  async countOwners(workspaceId: string): Promise<number> {
    const row = await this.db
      .selectFrom('workspace_members')
      .select((eb) => eb.fn.countAll<string>().as('owners'))
      .where('workspace_id', '=', workspaceId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(row.owners);
  }

  async updateRole(workspaceId: string, accountId: string, role: Role): Promise<void> {
    await this.db
      .updateTable('workspace_members')
      .set({ role })
      .where('workspace_id', '=', workspaceId)
      .where('account_id', '=', accountId)
      .execute();
  }

  async deleteMember(workspaceId: string, accountId: string): Promise<void> {
    await this.db.deleteFrom('workspace_members').where('workspace_id', '=', workspaceId).where('account_id', '=', accountId).execute();
  }

  /**
   * Closes up to `limit` active workspaces created more than `days` days ago whose onboarding never
   * completed, recording each closure in the same statement. Skips rows another worker holds.
   */
  async closeAbandoned(days: number, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`
      with abandoned as (
        select w.id from workspaces w
        join onboarding_progress p on p.workspace_id = w.id
        where w.status = 'active' and p.completed_at is null
          and w.created_at < now() - make_interval(days => ${days})
        order by w.created_at
        limit ${limit}
        for update of w skip locked
      ), closed as (
        update workspaces w set status = 'closed', closed_at = now()
        from abandoned where w.id = abandoned.id
        returning w.id
      ), audited as (
        insert into audit_events (actor_type, action, workspace_id, data)
        select 'system', 'workspace.closed', id, jsonb_build_object('reason', 'onboarding_abandoned', 'afterDays', ${days}::int)
        from closed
      )
      select id from closed`.execute(this.db);
    return rows.map((row) => row.id);
  }

  /** Reopens a closed workspace; false when it was not closed. */
  async reopen(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('workspaces')
      .set({ status: 'active', closed_at: null })
      .where('id', '=', id)
      .where('status', '=', 'closed')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Adds a member; returns false when they already were one (nothing changes then). */
  async insertMember(input: { workspaceId: string; accountId: string; role: Role }): Promise<boolean> {
    const result = await this.db
      .insertInto('workspace_members')
      .values({ workspace_id: input.workspaceId, account_id: input.accountId, role: input.role })
      .onConflict((oc) => oc.columns(['workspace_id', 'account_id']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /**
   * Starts the trial on every workspace the account owns whose trial has not started yet; a second
   * call finds none, so the clock is never reset. Returns the workspaces whose trial started now.
   */
  async startTrialsOwnedBy(accountId: string, trialDays: number | TrialDays): Promise<{ id: string; trialEndsAt: Date }[]> {
    const days =
      typeof trialDays === 'number' ? sql`${trialDays}::int` : sql`coalesce((${JSON.stringify(trialDays.byPlan)}::jsonb ->> plan)::int, ${trialDays.otherwise}::int)`;
    return this.db
      .updateTable('workspaces')
      .set({ trial_ends_at: sql`now() + make_interval(days => ${days})` })
      .where('trial_ends_at', 'is', null)
      .where('id', 'in', (qb) =>
        qb
          .selectFrom('workspace_members')
          .select('workspace_id')
          .where('account_id', '=', accountId)
          .where('role', '=', 'owner'),
      )
      .returning(['id', 'trial_ends_at as trialEndsAt'])
      .execute() as Promise<{ id: string; trialEndsAt: Date }[]>;
  }

  /** Records provisioning as done, once (true then); later calls keep the first time and settings. */
  async markInitialized(id: string, settings: Record<string, unknown>): Promise<boolean> {
    const result = await this.db
      .updateTable('workspaces')
      .set({ settings: JSON.stringify(settings), initialized_at: sql`now()` })
      .where('id', '=', id)
      .where('initialized_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
