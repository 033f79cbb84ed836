import { sql } from 'kysely';
import { Repository } from './repository.js';

/** What was kept of the first request that used an idempotency key. */
export interface IdempotencyRecord {
  requestHash: Buffer;
  accountId: string | null;
  response: unknown;
}

/** SQL for idempotency_keys. */
export class IdempotencyRepository extends Repository {
  /** The record of a key used within the last `maxAgeSeconds`, if any. */
  async find(scope: string, key: string, maxAgeSeconds: number): Promise<IdempotencyRecord | undefined> {
    return this.db
      .selectFrom('idempotency_keys')
      .select(['request_hash as requestHash', 'account_id as accountId', 'response'])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('created_at', '>', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
      .executeTakeFirst();
  }

  /**
   * Claims a key inside the caller's transaction. A concurrent claimer of the same key waits here
   * until the first commits (then gets false) or rolls back (then gets true). A stale key is reclaimed.
   */
  async claim(scope: string, key: string, requestHash: Buffer, maxAgeSeconds: number): Promise<boolean> {
    const row = await this.db
      .insertInto('idempotency_keys')
      .values({ scope, key, request_hash: requestHash })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'key'])
          .doUpdateSet({ request_hash: requestHash, response: null, account_id: null, created_at: sql`now()` })
          .where('idempotency_keys.created_at', '<=', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`),
      )
      .returning('key')
      .executeTakeFirst();
    return row !== undefined;
  }

  async saveResponse(scope: string, key: string, accountId: string, response: unknown): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ account_id: accountId, response: JSON.stringify(response) })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  /** Deletes up to `limit` keys older than `maxAgeSeconds`. */
  async deleteOlderThan(maxAgeSeconds: number, limit: number): Promise<number> {
    const result = await sql`
      delete from idempotency_keys where (scope, key) in (
        select scope, key from idempotency_keys
        where created_at <= now() - make_interval(secs => ${maxAgeSeconds})
        limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
