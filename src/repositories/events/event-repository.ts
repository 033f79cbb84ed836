import { sql } from 'kysely';
import { Repository } from '../repository.js';

/** An event ready to insert: its id is chosen beforehand, so a statement can refer to it. */
export interface EventInsert {
  id: string;
  type: string;
  workspaceId: string | null;
  data: Record<string, unknown>;
}

/** An event as recorded: with its time and its workspace's sequence number (null without a workspace). */
export interface RecordedEvent extends EventInsert {
  sequence: number | null;
  occurredAt: Date;
}

/** The job that delivers one event to one endpoint; the key keeps it from ever being queued twice. */
export const DELIVER_TASK = 'deliver_webhook';

/** The job key of the delivery of `eventId` to `endpointId`. */
export function deliveryJobKey(eventId: string, endpointId: string): string {
  return `webhook:${eventId}:${endpointId}`;
}

/**
 * CTE definitions (`event_input`, `event_counts`, `event_seq`, `event_rows`, `event_deliveries`,
 * `event_jobs`) that record `events` inside a larger statement: each workspace's sequence is taken
 * from its counter row (locked until commit, so numbers follow commit order without gaps), a delivery
 * row is added for every enabled endpoint that wants the type, and one `deliver_webhook` job per
 * delivery. With no matching endpoint no job is added at all. The statement must reference
 * `event_jobs` (a plain SELECT CTE runs only when referenced).
 */
export function recordEventsCtes(events: EventInsert[]) {
  return sql`event_input as (
      select * from unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.type)}::text[],
                           ${events.map((e) => e.workspaceId)}::uuid[], ${events.map((e) => JSON.stringify(e.data))}::jsonb[])
        with ordinality as t(id, type, workspace_id, data, ord)
    ), event_counts as (
      select workspace_id, count(*) as n from event_input where workspace_id is not null group by workspace_id
    ), event_seq as (
      insert into event_sequences as s (workspace_id, last_sequence)
      select workspace_id, n from event_counts order by workspace_id
      on conflict (workspace_id) do update set last_sequence = s.last_sequence + excluded.last_sequence
      returning workspace_id, last_sequence
    ), event_rows as (
      insert into events (id, type, workspace_id, sequence, data)
      select t.id, t.type, t.workspace_id,
             s.last_sequence - c.n + row_number() over (partition by t.workspace_id order by t.ord), t.data
      from event_input t
      left join event_seq s on s.workspace_id = t.workspace_id
      left join event_counts c on c.workspace_id = t.workspace_id
      order by t.ord
      returning id, type, workspace_id, sequence, occurred_at
    ), event_deliveries as (
      insert into webhook_deliveries (event_id, endpoint_id)
      select e.id, p.id from event_rows e
      join webhook_endpoints p on p.enabled and ${subscribedSql('e.type', 'p.event_types')}
      where e.type <> 'webhook.test'
      returning id, event_id, endpoint_id
    ), event_jobs as (${deliveryJobsSql('event_deliveries')})`;
}

/**
 * A SELECT that adds one deliver_webhook job per row of the CTE `deliveries` (id, event_id,
 * endpoint_id), keyed as deliveryJobKey; add_jobs is not even called when there is none.
 */
export function deliveryJobsSql(deliveries: 'event_deliveries' | 'replayed') {
  const from = sql.raw(deliveries);
  return sql`select count(*) as added from graphile_worker.add_jobs(array(
        select json_populate_record(null::graphile_worker.job_spec, json_build_object(
          'identifier', ${DELIVER_TASK}::text, 'payload', json_build_object('deliveryId', d.id),
          'job_key', 'webhook:' || d.event_id || ':' || d.endpoint_id, 'max_attempts', 25))
        from ${from} d
      ))
      where exists (select from ${from})`;
}

/** SQL matching an event type `type` against an endpoint's `event_types` (null: every type; `prefix.*` patterns). */
export const subscribedSql = (type: string, eventTypes: string) =>
  sql`(${sql.raw(eventTypes)} is null or ${sql.raw(type)} = any(${sql.raw(eventTypes)}) or split_part(${sql.raw(type)}, '.', 1) || '.*' = any(${sql.raw(eventTypes)}))`;

/** Filters of the event log, combined with AND. */
export interface EventFilter {
  workspaceId?: string;
  type?: string;
  /** With workspaceId: only events numbered after this (a receiver filling a gap). */
  afterSequence?: number;
  from?: Date;
  to?: Date;
}

/** SQL for the event log. */
export class EventRepository extends Repository {
  /** Events newest first, after the keyset position. */
  async list(filter: EventFilter, after: { at: string; id: string } | undefined, limit: number): Promise<(RecordedEvent & { keysetAt: string })[]> {
    const { rows } = await sql<RecordedEvent & { keysetAt: string; sequence: string | null }>`
      select id, type, workspace_id as "workspaceId", sequence, data, occurred_at as "occurredAt", occurred_at::text as "keysetAt"
      from events
      where true
        ${filter.workspaceId ? sql`and workspace_id = ${filter.workspaceId}` : sql``}
        ${filter.type ? sql`and type = ${filter.type}` : sql``}
        ${filter.afterSequence !== undefined ? sql`and sequence > ${filter.afterSequence}` : sql``}
        ${filter.from ? sql`and occurred_at >= ${filter.from}` : sql``}
        ${filter.to ? sql`and occurred_at < ${filter.to}` : sql``}
        ${after ? sql`and (occurred_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
      order by occurred_at desc, id desc
      limit ${limit}`.execute(this.db);
    return rows.map((row) => ({ ...row, sequence: row.sequence === null ? null : Number(row.sequence) }));
  }

  /** Records events, their deliveries and delivery jobs in ONE statement (see recordEventsCtes). */
  async insert(events: EventInsert[]): Promise<RecordedEvent[]> {
    if (events.length === 0) return [];
    const { rows } = await sql<{ id: string; sequence: string | null; occurredAt: Date }>`
      with ${recordEventsCtes(events)}
      select r.id, r.sequence, r.occurred_at as "occurredAt" from event_rows r, event_jobs`.execute(this.db);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return events.map((event) => {
      const row = byId.get(event.id)!;
      return { ...event, sequence: row.sequence === null ? null : Number(row.sequence), occurredAt: row.occurredAt };
    });
  }

  /** Deletes up to `limit` events older than `days` that no delivery refers to any more; returns how many. */
  async deleteOlderThan(days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from events where id in (
        select e.id from events e
        where e.occurred_at < now() - make_interval(days => ${days})
          and not exists (select from webhook_deliveries d where d.event_id = e.id)
        limit ${limit}
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
