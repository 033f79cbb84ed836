import { sql } from 'kysely';
import { Repository } from '../repository.js';

/** An object of the local gateway. */
export interface LocalObject {
  id: string;
  type: string;
  data: Record<string, unknown>;
  deleted: boolean;
}

/** A stored answer to an idempotent request. */
export interface LocalResponse {
  requestHash: string;
  response: { status: number; body: Record<string, unknown> };
}

/** SQL for the local gateway's objects and idempotency keys. */
export class LocalGatewayRepository extends Repository {
  async find(id: string, options: { lock?: boolean } = {}): Promise<LocalObject | undefined> {
    let query = this.db.selectFrom('local_gateway_objects').select(['id', 'type', 'data', sql<boolean>`deleted_at is not null`.as('deleted')]).where('id', '=', id);
    if (options.lock) query = query.forUpdate();
    return query.executeTakeFirst();
  }

  async insert(id: string, type: string, data: Record<string, unknown>): Promise<void> {
    await this.db.insertInto('local_gateway_objects').values({ id, type, data: JSON.stringify(data) }).execute();
  }

  async update(id: string, data: Record<string, unknown>): Promise<void> {
    await this.db.updateTable('local_gateway_objects').set({ data: JSON.stringify(data) }).where('id', '=', id).execute();
  }

  async markDeleted(id: string): Promise<void> {
    await this.db.updateTable('local_gateway_objects').set({ deleted_at: sql`now()` }).where('id', '=', id).where('deleted_at', 'is', null).execute();
  }

  /** Objects of a type whose data has `field` = `value` (e.g. subscriptions of a customer). */
  async listBy(type: string, field: string, value: string): Promise<LocalObject[]> {
    return this.db
      .selectFrom('local_gateway_objects')
      .select(['id', 'type', 'data', sql<boolean>`deleted_at is not null`.as('deleted')])
      .where('type', '=', type)
      .where(sql`data ->> ${field}`, '=', value)
      .execute();
  }

  /** Serialises requests with one idempotency key until the transaction ends. */
  async lockKey(key: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`local_gateway:${key}`}, 0))`.execute(this.db);
  }

  async findResponse(key: string): Promise<LocalResponse | undefined> {
    return this.db.selectFrom('local_gateway_requests').select(['request_hash as requestHash', 'response']).where('idempotency_key', '=', key).executeTakeFirst();
  }

  async insertResponse(key: string, requestHash: string, response: LocalResponse['response']): Promise<void> {
    await this.db.insertInto('local_gateway_requests').values({ idempotency_key: key, request_hash: requestHash, response: JSON.stringify(response) }).execute();
  }
}
