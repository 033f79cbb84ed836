import { sql } from 'kysely';
import type { DeliveryStatus } from '../../db/schema.js';
import type { Keyset } from '../admin-repository.js';
import { Repository } from '../repository.js';
import { deliveryJobsSql, subscribedSql } from './event-repository.js';

/** A webhook endpoint with its sealed secrets (see SecretBox). */
export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[] | null;
  enabled: boolean;
  disabledReason: string | null;
  secret: Buffer;
  previousSecret: Buffer | null;
  previousExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  keysetAt: string;
}

/** A delivery claimed for one attempt, with its event and endpoint. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  eventId: string;
  eventType: string;
  occurredAt: Date;
  workspaceId: string | null;
  sequence: string | null;
  data: Record<string, unknown>;
  endpointId: string;
  url: string;
  enabled: boolean;
  secret: Buffer;
  /** The previous secret while its overlap lasts, else null. */
  previousSecret: Buffer | null;
}

/** One attempt of the delivery log. */
export interface AttemptRow {
  id: string;
  attemptedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
}

/** A delivery of the log, with its event and its latest attempt. */
export interface DeliveryRow {
  id: string;
  eventId: string;
  eventType: string;
  workspaceId: string | null;
  sequence: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  keysetAt: string;
  lastAttempt: AttemptRow | null;
}

/** Filters of the delivery log, combined with AND. */
export interface DeliveryFilter {
  status?: DeliveryStatus;
  eventType?: string;
  eventId?: string;
  workspaceId?: string;
}

const endpointColumns = [
  'id',
  'url',
  'description',
  'event_types as eventTypes',
  'enabled',
  'disabled_reason as disabledReason',
  'secret',
  'previous_secret as previousSecret',
  'previous_expires_at as previousExpiresAt',
  'created_at as createdAt',
  'updated_at as updatedAt',
  sql<string>`created_at::text`.as('keysetAt'),
] as const;

/** SQL for webhook endpoints, deliveries and their attempts. */
export class WebhookRepository extends Repository {
  async insertEndpoint(input: { url: string; description: string | null; eventTypes: string[] | null; secret: Buffer }): Promise<EndpointRow> {
    return this.db
      .insertInto('webhook_endpoints')
      .values({ url: input.url, description: input.description, event_types: input.eventTypes, secret: input.secret })
      .returning(endpointColumns)
      .executeTakeFirstOrThrow();
  }

  /**
   * Within the caller's transaction, serialises every change that gives an endpoint `url` (the lock
   * ends with the transaction), then answers the id of another endpoint that already has it.
   */
  async lockUrl(url: string, exceptId?: string): Promise<string | undefined> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhook_endpoints.url:${url}`}, 0))`.execute(this.db);
    let query = this.db.selectFrom('webhook_endpoints').select('id').where('url', '=', url);
    if (exceptId) query = query.where('id', '<>', exceptId);
    return (await query.executeTakeFirst())?.id;
  }

  async findEndpoint(id: string): Promise<EndpointRow | undefined> {
    return this.db.selectFrom('webhook_endpoints').select(endpointColumns).where('id', '=', id).executeTakeFirst();
  }

  /** Newest first, after the keyset position. */
  async listEndpoints(filter: { enabled?: boolean }, after: Keyset | undefined, limit: number): Promise<EndpointRow[]> {
    let query = this.db.selectFrom('webhook_endpoints').select(endpointColumns);
    if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled);
    if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** Applies the given changes; undefined when there is no such endpoint. */
  async updateEndpoint(
    id: string,
    patch: { url?: string; description?: string | null; eventTypes?: string[] | null; enabled?: boolean; disabledReason?: string | null },
  ): Promise<EndpointRow | undefined> {
    return this.db
      .updateTable('webhook_endpoints')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.eventTypes !== undefined ? { event_types: patch.eventTypes } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled, disabled_reason: patch.enabled ? null : (patch.disabledReason ?? 'disabled by an admin') } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returning(endpointColumns)
      .executeTakeFirst();
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Makes `secret` current; the one receivers may still hold keeps signing for `overlapHours`
   * alongside it. That is the current one, unless an earlier rotation's overlap is still running:
   * then the secret from before it stays (a second rotation, or a double click, never drops the
   * secret every receiver had without an overlap), and the secret minted in between is dropped.
   */
  async rotateSecret(id: string, secret: Buffer, overlapHours: number): Promise<EndpointRow | undefined> {
    return this.db
      .updateTable('webhook_endpoints')
      .set({
        previous_secret: sql`case when previous_expires_at > now() then previous_secret else secret end`,
        previous_expires_at: sql`now() + make_interval(hours => ${overlapHours})`,
        secret,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returning(endpointColumns)
      .executeTakeFirst();
  }

  /**
   * Claims a delivery for one attempt: only a pending one (any one when `manual`), and none already
   * in flight; the claim lasts `lockSeconds`, so a crashed attempt frees it by itself.
   */
  async claimDelivery(id: string, manual: boolean, lockSeconds: number): Promise<ClaimedDelivery | undefined> {
    const { rows } = await sql<ClaimedDelivery>`
      update webhook_deliveries d set locked_until = now() + make_interval(secs => ${lockSeconds})
      from events e, webhook_endpoints p
      where d.id = ${id} and e.id = d.event_id and p.id = d.endpoint_id
        and (d.status = 'pending' or ${manual}::boolean)
        and (d.locked_until is null or d.locked_until < now())
      returning d.id, d.attempts, e.id as "eventId", e.type as "eventType", e.occurred_at as "occurredAt",
                e.workspace_id as "workspaceId", e.sequence, e.data, p.id as "endpointId", p.url, p.enabled, p.secret,
                case when p.previous_expires_at > now() then p.previous_secret end as "previousSecret"`.execute(this.db);
    return rows[0];
  }

  /**
   * A pending delivery claimed by an attempt in flight (or by one whose process died), locked until
   * this transaction ends, so the attempt cannot finish and re-queue meanwhile; else undefined.
   */
  async lockInFlight(id: string): Promise<{ eventId: string; endpointId: string; lockedUntil: Date } | undefined> {
    return this.db
      .selectFrom('webhook_deliveries')
      .select(['event_id as eventId', 'endpoint_id as endpointId', 'locked_until as lockedUntil'])
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('locked_until', '>', sql<Date>`now()`)
      .forUpdate()
      .$narrowType<{ lockedUntil: Date }>()
      .executeTakeFirst();
  }

  /**
   * Logs an attempt and moves the delivery on: `retryInSeconds` keeps it pending until then (the
   * returned time), otherwise it ends as `status`.
   */
  async finishAttempt(
    id: string,
    attempt: { statusCode: number | null; error: string | null; excerpt: string | null; durationMs: number },
    next: { status: DeliveryStatus; retryInSeconds?: number },
  ): Promise<{ nextAttemptAt: Date | null }> {
    const { rows } = await sql<{ nextAttemptAt: Date | null }>`
      with attempt as (
        insert into webhook_attempts (delivery_id, duration_ms, status_code, error, response_excerpt)
        values (${id}, ${attempt.durationMs}, ${attempt.statusCode}, ${attempt.error}, ${attempt.excerpt})
      )
      update webhook_deliveries set
        attempts = attempts + 1,
        status = ${next.status},
        last_attempt_at = now(),
        delivered_at = case when ${next.status} = 'delivered' then now() else delivered_at end,
        next_attempt_at = case when ${next.retryInSeconds ?? null}::int is null then null else now() + make_interval(secs => ${next.retryInSeconds ?? null}::int) end,
        locked_until = null
      where id = ${id}
      returning next_attempt_at as "nextAttemptAt"`.execute(this.db);
    return rows[0]!;
  }

  /** Ends a delivery without an attempt (its endpoint was disabled meanwhile). */
  async cancel(id: string): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set({ status: 'cancelled', next_attempt_at: null, locked_until: null }).where('id', '=', id).execute();
  }

  /** Inserts one delivery of an event to one endpoint (the test route's). */
  async insertDelivery(eventId: string, endpointId: string): Promise<string> {
    const row = await this.db.insertInto('webhook_deliveries').values({ event_id: eventId, endpoint_id: endpointId }).returning('id').executeTakeFirstOrThrow();
    return row.id;
  }

  /**
   * Queues the endpoint's events of a time range again (or for the first time: events from before it
   * existed), oldest first, at most `limit`: each delivery becomes pending with a fresh schedule and
   * gets its job, all in one statement. Returns how many were queued.
   */
  async replay(endpointId: string, range: { since: Date; until?: Date; workspaceId?: string }, limit: number): Promise<number> {
    const { rows } = await sql<{ queued: number }>`
      with picked as (
        select e.id from events e join webhook_endpoints p on p.id = ${endpointId}
        where e.occurred_at >= ${range.since} and e.type <> 'webhook.test' and ${subscribedSql('e.type', 'p.event_types')}
          ${range.until ? sql`and e.occurred_at < ${range.until}` : sql``}
          ${range.workspaceId ? sql`and e.workspace_id = ${range.workspaceId}` : sql``}
        order by e.occurred_at, e.id
        limit ${limit}
      ), replayed as (
        insert into webhook_deliveries (event_id, endpoint_id) select id, ${endpointId} from picked
        on conflict (event_id, endpoint_id) do update set status = 'pending', attempts = 0, next_attempt_at = now()
        returning id, event_id, endpoint_id
      ), jobs as (${deliveryJobsSql('replayed')})
      select (select count(*)::int from replayed) as queued from jobs`.execute(this.db);
    return rows[0]!.queued;
  }

  /** Makes a delivery pending again from now (a manual retry); false when there is no such delivery. */
  async reopenDelivery(endpointId: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: sql`now()` })
      .where('id', '=', id)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The endpoint's deliveries, newest first, each with its event and latest attempt. */
  async listDeliveries(endpointId: string, filter: DeliveryFilter, after: Keyset | undefined, limit: number, id?: string): Promise<DeliveryRow[]> {
    const { rows } = await sql<DeliveryRow>`
      select d.id, d.event_id as "eventId", e.type as "eventType", e.workspace_id as "workspaceId", e.sequence,
             d.status, d.attempts, d.next_attempt_at as "nextAttemptAt", d.last_attempt_at as "lastAttemptAt",
             d.delivered_at as "deliveredAt", d.created_at as "createdAt", d.created_at::text as "keysetAt",
             (select to_jsonb(a) from (
                select a.id, a.attempted_at as "attemptedAt", a.duration_ms as "durationMs", a.status_code as "statusCode",
                       a.error, a.response_excerpt as "responseExcerpt"
                from webhook_attempts a where a.delivery_id = d.id order by a.attempted_at desc, a.id desc limit 1) a) as "lastAttempt"
      from webhook_deliveries d join events e on e.id = d.event_id
      where d.endpoint_id = ${endpointId}
        ${id ? sql`and d.id = ${id}` : sql``}
        ${filter.status ? sql`and d.status = ${filter.status}` : sql``}
        ${filter.eventType ? sql`and e.type = ${filter.eventType}` : sql``}
        ${filter.eventId ? sql`and d.event_id = ${filter.eventId}` : sql``}
        ${filter.workspaceId ? sql`and e.workspace_id = ${filter.workspaceId}` : sql``}
        ${after ? sql`and (d.created_at, d.id) < (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
      order by d.created_at desc, d.id desc
      limit ${limit}`.execute(this.db);
    return rows.map((row) => ({ ...row, lastAttempt: row.lastAttempt && { ...row.lastAttempt, attemptedAt: new Date(row.lastAttempt.attemptedAt) } }));
  }

  /** Every attempt of a delivery, oldest first. */
  async listAttempts(deliveryId: string): Promise<AttemptRow[]> {
    return this.db
      .selectFrom('webhook_attempts')
      .select(['id', 'attempted_at as attemptedAt', 'duration_ms as durationMs', 'status_code as statusCode', 'error', 'response_excerpt as responseExcerpt'])
      .where('delivery_id', '=', deliveryId)
      .orderBy('attempted_at')
      .orderBy('id')
      .execute();
  }

  /** Deletes up to `limit` finished deliveries (and their attempts) older than `days`; returns how many. */
  async deleteFinishedOlderThan(days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from webhook_deliveries where id in (
        select id from webhook_deliveries
        where status <> 'pending' and created_at < now() - make_interval(days => ${days})
        limit ${limit}
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
