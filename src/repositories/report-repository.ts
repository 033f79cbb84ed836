import { sql } from 'kysely';
import { Repository } from './repository.js';

/** The onboarding funnel for workspaces created in a time range. */
export interface FunnelRow {
  registered: number;
  ownerVerified: number;
  steps: Record<string, number>;
  completed: number;
}

/** Read-only aggregate SQL for admins. */
export class ReportRepository extends Repository {
  /** Counts, computed in SQL, of workspaces created in [from, to) at each stage of onboarding. */
  async funnel(from: Date, to: Date, steps: readonly string[]): Promise<FunnelRow> {
    const { rows } = await sql<{ registered: number; owner_verified: number; completed: number; steps: Record<string, number> | null }>`
      with cohort as (
        select w.id, p.completed_steps, p.completed_at,
               exists (
                 select 1 from workspace_members m join accounts a on a.id = m.account_id
                 where m.workspace_id = w.id and m.role = 'owner' and a.email_verified_at is not null
               ) as owner_verified
        from workspaces w join onboarding_progress p on p.workspace_id = w.id
        where w.created_at >= ${from} and w.created_at < ${to}
      )
      select
        (select count(*)::int from cohort) as registered,
        (select count(*) filter (where owner_verified)::int from cohort) as owner_verified,
        (select count(*) filter (where completed_at is not null)::int from cohort) as completed,
        (select jsonb_object_agg(step, (select count(*)::int from cohort where step = any(completed_steps)))
           from unnest(${sql.val([...steps])}::text[]) as step) as steps`.execute(this.db);
    const row = rows[0]!;
    return { registered: row.registered, ownerVerified: row.owner_verified, completed: row.completed, steps: row.steps ?? {} };
  }
}
