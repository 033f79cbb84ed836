import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { GatewayName } from '../../db/schema.js';
import { enqueueJobs } from '../job-queue.js';
import { Repository } from '../repository.js';

/** A received gateway event as stored. */
export interface GatewayEventRow {
  eventId: string;
  type: string;
  objectId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
  processedAt: Date | null;
  attempts: number;
}

/** A processing job per event id; a newer one replaces a waiting one, so each event has at most one queued. */
const processJob = (eventId: string) => ({ name: 'process_gateway_event' as const, payload: { eventId }, options: { jobKey: `gateway_event:${eventId}`, maxAttempts: 20 } });

/** SQL for gateway_events. */
export class GatewayEventRepository extends Repository {
  /**
   * Records an event once by its id, with the job that processes it, in one transaction.
   * Returns false for a duplicate delivery (nothing is queued then).
   */
  async record(trx: Tx, gateway: GatewayName, event: { id: string; type: string; objectId: string | null; createdAt: Date; payload: Record<string, unknown> }): Promise<boolean> {
    const inserted = await trx
      .insertInto('gateway_events')
      .values({ event_id: event.id, gateway, type: event.type, object_id: event.objectId, payload: JSON.stringify(event.payload), created_at: event.createdAt })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (inserted) await enqueueJobs(trx, [processJob(event.id)]);
    return inserted !== undefined;
  }

  /** The event, locked for processing. */
  async lock(eventId: string): Promise<GatewayEventRow | undefined> {
    return this.db
      .selectFrom('gateway_events')
      .select(['event_id as eventId', 'type', 'object_id as objectId', 'payload', 'created_at as createdAt', 'processed_at as processedAt', 'attempts'])
      .where('event_id', '=', eventId)
      .forUpdate()
      .executeTakeFirst();
  }

  async markProcessed(eventId: string, outcome: string): Promise<void> {
    await this.db.updateTable('gateway_events').set({ processed_at: sql`now()`, outcome, last_error: null, attempts: sql`attempts + 1` }).where('event_id', '=', eventId).execute();
  }

  async recordAttempt(eventId: string, error: string): Promise<void> {
    await this.db.updateTable('gateway_events').set({ last_error: error, attempts: sql`attempts + 1` }).where('event_id', '=', eventId).execute();
  }

  /** Queues again, to run now, the unprocessed events about these objects (they raced their sign-up). */
  async requeueFor(trx: Tx, objectIds: string[]): Promise<void> {
    if (objectIds.length === 0) return;
    const pending = await trx.selectFrom('gateway_events').select('event_id').where('object_id', 'in', objectIds).where('processed_at', 'is', null).execute();
    if (pending.length > 0) await enqueueJobs(trx, pending.map((row) => processJob(row.event_id)));
  }
}
