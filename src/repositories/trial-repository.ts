import { sql } from 'kysely';
import { Repository } from './repository.js';

/** A trial email that became due and was claimed, so it is sent exactly once. */
export interface DueTrialEmail {
  workspaceId: string;
  kind: 'ending_soon' | 'ended';
  /** The trial end as PostgreSQL's exact text (microseconds kept), to compare against later. */
  trialEndsAt: string;
}

/** SQL for the trial lifecycle. */
export class TrialRepository extends Repository {
  /**
   * Claims every trial email now due: "ending soon" within `reminderDays` of the end, "ended" after
   * it (for trials ended in the last `endedWithinDays`). The insert's primary key lets each
   * (workspace, kind, trial end) be claimed once, however often or concurrently this runs.
   */
  async claimDue(reminderDays: number, endedWithinDays: number): Promise<DueTrialEmail[]> {
    const { rows } = await sql<DueTrialEmail>`
      insert into trial_notifications (workspace_id, kind, trial_ends_at)
      select id, kind, trial_ends_at from (
        select id, 'ending_soon' as kind, trial_ends_at from workspaces
        where status = 'active' and trial_ends_at > now() and trial_ends_at <= now() + make_interval(days => ${reminderDays})
        union all
        select id, 'ended', trial_ends_at from workspaces
        where status = 'active' and trial_ends_at <= now() and trial_ends_at > now() - make_interval(days => ${endedWithinDays})
      ) due
      on conflict do nothing
      returning workspace_id as "workspaceId", kind, trial_ends_at::text as "trialEndsAt"`.execute(this.db);
    return rows;
  }

  /** Whether the workspace's trial still ends at `trialEndsAt` (an extension makes a queued email stale). */
  async stillEndsAt(workspaceId: string, trialEndsAt: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('workspaces')
      .select('id')
      .where('id', '=', workspaceId)
      .where('trial_ends_at', '=', sql<Date>`${trialEndsAt}::timestamptz`)
      .executeTakeFirst();
    return row !== undefined;
  }
}
