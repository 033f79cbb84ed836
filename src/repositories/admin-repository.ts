import { sql, type RawBuilder } from 'kysely';
import { PLANNED_PER_CALL } from '../db/database.js';
import type { ActorType, WorkspaceStatus } from '../db/schema.js';
import { Repository } from './repository.js';

/** Filters of the admin workspace list; all optional, combined with AND. */
export interface WorkspaceFilter {
  trialState?: 'pending_verification' | 'active' | 'ending_soon' | 'expired';
  plan?: string;
  status?: WorkspaceStatus;
  onboarding?: 'in_progress' | 'completed';
  q?: string;
  createdFrom?: Date;
  createdTo?: Date;
  /** One workspace only (the detail view). */
  id?: string;
  /** The status of the workspace's current subscription; `none` for workspaces that never had one. */
  subscriptionStatus?: 'trialing' | 'active' | 'past_due' | 'canceled' | 'none';
}

/** A keyset position: the last row's created_at (as exact text) and id. */
export interface Keyset {
  at: string;
  id: string;
}

/** One workspace as the back office lists it. */
export interface AdminWorkspaceRow {
  id: string;
  name: string;
  plan: string;
  status: WorkspaceStatus;
  createdAt: Date;
  keysetAt: string;
  trialEndsAt: Date | null;
  initializedAt: Date | null;
  ownerAccountId: string | null;
  ownerEmail: string | null;
  ownerName: string | null;
  ownerVerifiedAt: Date | null;
  memberCount: number;
  pendingInvitations: number;
  completedSteps: string[];
  completedAt: Date | null;
  subscriptionStatus: string | null;
}

/** One audit event. */
export interface AuditEventRow {
  id: string;
  occurredAt: Date;
  keysetAt: string;
  actorType: ActorType;
  actorId: string | null;
  action: string;
  workspaceId: string | null;
  accountId: string | null;
  data: Record<string, unknown>;
}

/** Filters of the audit log. */
export interface AuditFilter {
  workspaceId?: string;
  accountId?: string;
  action?: string;
  actorType?: ActorType;
  from?: Date;
  to?: Date;
}

/** A trial end's move: the old and new ends, or, refused, whether the asked end was not in the future and the latest allowed end. */
export type TrialEndMove = { moved: true; from: Date; to: Date } | { moved: false; notFuture: boolean; latest: Date };

/** Counts for the admin dashboard. */
export interface StatsRow {
  byTrialState: Record<string, number>;
  byPlan: Record<string, number>;
  byStatus: Record<string, number>;
  byOnboarding: Record<string, number>;
  daily: { day: string; registrations: number; verifications: number }[];
}

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Read SQL for the back office: lists with keyset pagination, details, stats. */
export class AdminRepository extends Repository {
  /** Workspaces matching the filter, newest first, after the keyset position, at most `limit`. */
  async listWorkspaces(filter: WorkspaceFilter, endingSoonDays: number, after: Keyset | undefined, limit: number): Promise<AdminWorkspaceRow[]> {
    const conditions: RawBuilder<unknown>[] = [sql`true`];
    const trial = {
      pending_verification: sql`w.trial_ends_at is null`,
      active: sql`w.trial_ends_at > now()`,
      ending_soon: sql`w.trial_ends_at > now() and w.trial_ends_at <= now() + make_interval(days => ${endingSoonDays})`,
      expired: sql`w.trial_ends_at <= now()`,
    };
    if (filter.trialState) conditions.push(trial[filter.trialState]);
    if (filter.plan) conditions.push(sql`w.plan = ${filter.plan}`);
    if (filter.status) conditions.push(sql`w.status = ${filter.status}`);
    // A probe of the workspace's progress row per candidate that passed the other filters: a join here
    // let small tables' plans hash-join the whole of onboarding_progress. No row is never a match.
    const completed = sql`(select p.completed_at is not null from onboarding_progress p where p.workspace_id = w.id)`;
    if (filter.onboarding === 'completed') conditions.push(completed);
    if (filter.onboarding === 'in_progress') conditions.push(sql`not ${completed}`);
    if (filter.createdFrom) conditions.push(sql`w.created_at >= ${filter.createdFrom}`);
    if (filter.createdTo) conditions.push(sql`w.created_at < ${filter.createdTo}`);
    if (filter.id) conditions.push(sql`w.id = ${filter.id}`);
    // subscription_status is the status of the workspace's current subscription, kept by a trigger
    // (migration 0013) so the filter reads an index in the list's order.
    if (filter.subscriptionStatus) conditions.push(sql`w.subscription_status = ${filter.subscriptionStatus}`);
    // search_text holds the name and the owners' emails in lower case, with a trigram index.
    if (filter.q) conditions.push(sql`w.search_text like ${`%${escapeLike(filter.q.toLowerCase())}%`}`);
    if (after) conditions.push(sql`(w.created_at, w.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    // The page's ids are chosen first from workspaces alone, through workspaces_admin_list_idx's
    // entries where it serves (migration 0014); the row, the owner and the counts are looked up for
    // its rows only, never for every candidate. The limit is inlined so that the planner knows the
    // page is small and fetches its rows by id.
    // Planned for its values every time (PLANNED_PER_CALL): a prepared statement's generic plan cannot
    // know whether a fragment is shared by 1 name in 10 (walk the list in order) or by 1 in 100,000
    // (trigram index), and at 100,000 workspaces the wrong guess read 40,000 buffers a page instead of 1,000.
    const { rows } = await sql<AdminWorkspaceRow>`${sql.raw(PLANNED_PER_CALL)}
      select w.id, w.name, w.plan, w.status, w.created_at as "createdAt", w.created_at::text as "keysetAt",
             w.trial_ends_at as "trialEndsAt", w.initialized_at as "initializedAt",
             o.account_id as "ownerAccountId", o.email as "ownerEmail", o.name as "ownerName", o.email_verified_at as "ownerVerifiedAt",
             (select count(*)::int from workspace_members m where m.workspace_id = w.id) as "memberCount",
             (select count(*)::int from invitations i where i.workspace_id = w.id and i.status = 'pending' and i.expires_at > now()) as "pendingInvitations",
             p.completed_steps as "completedSteps", p.completed_at as "completedAt",
             nullif(w.subscription_status, 'none') as "subscriptionStatus"
      from (
        select w.id
        from workspaces w
        where ${sql.join(conditions, sql` and `)}
        order by w.created_at desc, w.id desc
        limit ${sql.lit(limit)}
      ) page
      join workspaces w on w.id = page.id
      -- Every workspace gets its progress row in the statement that creates it.
      join onboarding_progress p on p.workspace_id = w.id
      left join lateral (
        select a.id as account_id, a.email, a.name, a.email_verified_at
        from workspace_members m join accounts a on a.id = m.account_id
        where m.workspace_id = w.id and m.role = 'owner'
        order by m.joined_at limit 1
      ) o on true
      order by w.created_at desc, w.id desc`.execute(this.db);
    return rows;
  }

  /** Whether any workspace is on `plan` (a plan since removed from PLANS keeps its workspaces). */
  async planInUse(plan: string): Promise<boolean> {
    const row = await this.db.selectFrom('workspaces').select('id').where('plan', '=', plan).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Audit events matching the filter, newest first, after the keyset position. */
  async listAuditEvents(filter: AuditFilter, after: Keyset | undefined, limit: number): Promise<AuditEventRow[]> {
    let query = this.db
      .selectFrom('audit_events')
      .select([
        'id',
        'occurred_at as occurredAt',
        sql<string>`occurred_at::text`.as('keysetAt'),
        'actor_type as actorType',
        'actor_id as actorId',
        'action',
        'workspace_id as workspaceId',
        'account_id as accountId',
        'data',
      ])
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit);
    if (filter.workspaceId) query = query.where('workspace_id', '=', filter.workspaceId);
    if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.actorType) query = query.where('actor_type', '=', filter.actorType);
    if (filter.from) query = query.where('occurred_at', '>=', filter.from);
    if (filter.to) query = query.where('occurred_at', '<', filter.to);
    if (after) query = query.where(sql<boolean>`(occurred_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    return query.execute();
  }

  /** Dashboard counts, computed in SQL; daily series cover the last `days` days, today included. */
  async stats(endingSoonDays: number, days: number): Promise<StatsRow> {
    const { rows } = await sql<StatsRow>`
      with ws as (
        select w.plan, w.status, w.trial_ends_at, p.completed_at
        from workspaces w join onboarding_progress p on p.workspace_id = w.id
      ), days as (
        select generate_series(current_date - (${days}::int - 1), current_date, interval '1 day')::date as day
      )
      select
        (select jsonb_build_object(
           'pending_verification', count(*) filter (where trial_ends_at is null),
           'active', count(*) filter (where trial_ends_at > now()),
           'ending_soon', count(*) filter (where trial_ends_at > now() and trial_ends_at <= now() + make_interval(days => ${endingSoonDays})),
           'expired', count(*) filter (where trial_ends_at <= now())) from ws) as "byTrialState",
        (select coalesce(jsonb_object_agg(plan, n), '{}') from (select plan, count(*) as n from ws group by plan) x) as "byPlan",
        (select jsonb_build_object('active', count(*) filter (where status = 'active'), 'closed', count(*) filter (where status = 'closed')) from ws) as "byStatus",
        (select jsonb_build_object(
           'in_progress', count(*) filter (where status = 'active' and completed_at is null),
           'completed', count(*) filter (where completed_at is not null),
           'closed', count(*) filter (where status = 'closed' and completed_at is null)) from ws) as "byOnboarding",
        (select jsonb_agg(jsonb_build_object(
           'day', to_char(d.day, 'YYYY-MM-DD'),
           'registrations', (select count(*) from workspaces w where w.created_at >= d.day and w.created_at < d.day + 1),
           'verifications', (select count(*) from accounts a where a.email_verified_at >= d.day and a.email_verified_at < d.day + 1)
         ) order by d.day) from days d) as daily`.execute(this.db);
    return rows[0]!;
  }

  /**
   * Moves the trial end of a started trial to the asked end, only when that end lies in (now, now +
   * `maxDaysAhead` days]. The bound is checked on the end this statement computes from the locked
   * row, so a concurrent change cannot push an extension past it. Undefined when the trial has not
   * started (or there is no such workspace); else the move, or why it was refused and the latest end.
   */
  async setTrialEnd(workspaceId: string, change: { extendDays: number } | { trialEndsAt: Date }, maxDaysAhead: number): Promise<TrialEndMove | undefined> {
    const asked =
      'extendDays' in change
        ? sql`greatest(old.trial_ends_at, now()) + make_interval(days => ${change.extendDays})`
        : sql`${change.trialEndsAt}::timestamptz`;
    const { rows } = await sql<{ from: Date; to: Date | null; latest: Date; moved: boolean; notFuture: boolean }>`
      with old as (
        select id, trial_ends_at from workspaces where id = ${workspaceId} and trial_ends_at is not null for update
      ), asked as (
        select id, trial_ends_at as "from", ${asked} as "to", now() + make_interval(days => ${maxDaysAhead}) as latest from old
      ), moved as (
        update workspaces w set trial_ends_at = asked."to" from asked
        where w.id = asked.id and asked."to" > now() and asked."to" <= asked.latest
        returning w.id
      )
      select asked."from", case when asked."to" <= asked.latest then asked."to" end as "to", asked.latest,
             exists (select from moved) as moved, asked."to" <= now() as "notFuture"
      from asked`.execute(this.db);
    const row = rows[0];
    if (!row) return undefined;
    return row.moved ? { moved: true, from: row.from, to: row.to! } : { moved: false, notFuture: row.notFuture, latest: row.latest };
  }
}
