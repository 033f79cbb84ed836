import { sql, type RawBuilder } from 'kysely';
import type { Keyset } from '../admin-repository.js';
import { Repository } from '../repository.js';

/** A lead: an abandoned sign-up whose person agreed to hear from marketing. */
export interface LeadRow {
  id: string;
  flowId: string | null;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  companyName: string | null;
  lastStep: string | null;
  startedAt: Date;
  abandonedAt: Date;
  marketingConsent: boolean;
  consentTextVersion: string | null;
  consentAt: Date | null;
  exportedAt: Date;
  /** abandoned_at as PostgreSQL's exact text, for keyset cursors. */
  keysetAt: string;
}

/** Filters of the admin lead list. */
export interface LeadFilter {
  from?: Date;
  to?: Date;
  verified?: boolean;
}

/** How many flows started in a range reached each stage, computed in SQL. */
export interface SignupFunnelRow {
  started: number;
  completed: number;
  abandoned: number;
  discarded: number;
  inProgress: number;
  steps: { step: string; reached: number; conversion: number | null }[];
}

const leadColumns = sql`
  l.id, l.flow_id as "flowId", l.email, l.email_verified as "emailVerified", l.first_name as "firstName", l.last_name as "lastName",
  l.company_name as "companyName", l.last_step as "lastStep", l.started_at as "startedAt", l.abandoned_at as "abandonedAt",
  l.marketing_consent as "marketingConsent", l.consent_text_version as "consentTextVersion", l.consent_at as "consentAt",
  l.exported_at as "exportedAt", l.abandoned_at::text as "keysetAt"`;

/** SQL for signup_leads, the lead export and the sign-up funnel. */
export class SignupLeadRepository extends Repository {
  /**
   * Exports up to `limit` expired, uncompleted flows with an address and marketing consent as
   * leads, each exactly once: the flow is marked exported in the same statement, rows another run
   * holds are skipped, and signup_leads.flow_id is unique besides. `stepOrder` ranks the steps, so
   * the furthest one reached is the lead's last step.
   */
  async exportDue(stepOrder: readonly string[], limit: number): Promise<LeadRow[]> {
    const { rows } = await sql<LeadRow>`
      with due as (
        select id from signup_flows
        where expired_at is not null and lead_exported_at is null and marketing_consent and purged_at is null
          and completed_at is null and discarded_at is null and email is not null
        order by expired_at limit ${limit}
        for update skip locked
      ), marked as (
        update signup_flows f set lead_exported_at = now() from due where f.id = due.id
        returning f.*
      ), l as (
        insert into signup_leads (flow_id, email, email_verified, first_name, last_name, company_name, last_step,
                                  started_at, abandoned_at, marketing_consent, consent_text_version, consent_at)
        select m.id, m.email, m.email_verified_at is not null, m.data->'profile'->>'firstName', m.data->'profile'->>'lastName',
               m.data->'company'->>'name',
               (select s.key from unnest(${sql.val([...stepOrder])}::text[]) with ordinality as s(key, i)
                where s.key = any(m.steps_reached) order by s.i desc limit 1),
               m.created_at, m.updated_at, true, m.consent_text_version, m.consent_at
        from marked m
        on conflict (flow_id) do nothing
        returning *
      )
      select ${leadColumns} from l`.execute(this.db);
    return rows;
  }

  /** Leads matching the filter, most recently abandoned first, after the keyset position. */
  async list(filter: LeadFilter, after: Keyset | undefined, limit: number): Promise<LeadRow[]> {
    const conditions: RawBuilder<unknown>[] = [sql`true`];
    if (filter.from) conditions.push(sql`l.abandoned_at >= ${filter.from}`);
    if (filter.to) conditions.push(sql`l.abandoned_at < ${filter.to}`);
    if (filter.verified !== undefined) conditions.push(sql`l.email_verified = ${filter.verified}`);
    if (after) conditions.push(sql`(l.abandoned_at, l.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const { rows } = await sql<LeadRow>`
      select ${leadColumns} from signup_leads l
      where ${sql.join(conditions, sql` and `)}
      order by l.abandoned_at desc, l.id desc
      limit ${limit}`.execute(this.db);
    return rows;
  }

  /** Erases a lead; returns the flow it came from (null when none is known), or undefined when there was no such lead. */
  async delete(id: string): Promise<{ flowId: string | null } | undefined> {
    return this.db.deleteFrom('signup_leads').where('id', '=', id).returning('flow_id as flowId').executeTakeFirst();
  }

  /**
   * Flows started in [from, to): how many reached each stage of `stageOrder` (the last being
   * `completed`), counting a flow at every stage up to the furthest one it reached (sections may be
   * saved in any order), so no stage has more than the one before; the conversion from the stage
   * before (the first from those started). `side` is a stage only some flows have (the payment step
   * of paid plans, which implies its `after` stage): it converts from `after` and stands right after
   * it. Also how many were completed, abandoned (expired or discarded) or are still in progress.
   */
  async funnel(from: Date, to: Date, stageOrder: readonly string[], side: { step: string; after: string }): Promise<SignupFunnelRow> {
    const order = sql.val([...stageOrder]);
    const { rows } = await sql<SignupFunnelRow>`
      with cohort as (
        select f.completed_at, f.expired_at, f.discarded_at, f.expires_at, ${side.step}::text = any(f.steps_reached) as took_side,
               (select max(s.i) from unnest(${order}::text[]) with ordinality as s(key, i)
                where s.key = any(f.steps_reached) or (s.key = ${side.after} and ${side.step}::text = any(f.steps_reached))) as furthest
        from signup_flows f where f.created_at >= ${from} and f.created_at < ${to}
      ), chain as (
        select s.key, s.i::numeric as position, (select count(*)::int from cohort c where c.furthest >= s.i) as reached
        from unnest(${order}::text[]) with ordinality as s(key, i)
      ), chained as (
        select key, position, reached, coalesce(lag(reached) over (order by position), (select count(*)::int from cohort)) as before from chain
      ), stages as (
        select key, position, reached, before from chained
        union all
        select ${side.step}::text, a.position + 0.5, (select count(*) filter (where took_side)::int from cohort), a.reached
        from chained a where a.key = ${side.after}
      )
      select
        (select count(*)::int from cohort) as started,
        (select count(*) filter (where completed_at is not null)::int from cohort) as completed,
        (select count(*) filter (where completed_at is null and (expired_at is not null or discarded_at is not null or expires_at <= now()))::int
           from cohort) as abandoned,
        (select count(*) filter (where discarded_at is not null)::int from cohort) as discarded,
        (select count(*) filter (where completed_at is null and expired_at is null and discarded_at is null and expires_at > now())::int
           from cohort) as "inProgress",
        (select coalesce(jsonb_agg(jsonb_build_object('step', key, 'reached', reached,
                  'conversion', case when before > 0 then round(reached::numeric / before, 4) end) order by position), '[]')
           from stages) as steps`.execute(this.db);
    const row = rows[0]!;
    return { ...row, steps: row.steps.map((s) => ({ ...s, conversion: s.conversion === null ? null : Number(s.conversion) })) };
  }
}
