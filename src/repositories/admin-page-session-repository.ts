import { sql } from 'kysely';
import { Repository } from './repository.js';

/** SQL for admin_page_sessions; the cookie's token is only ever seen here as its hash. */
export class AdminPageSessionRepository extends Repository {
  async insert(input: { tokenHash: Buffer; adminTokenMac: Buffer; actor: string; expiresAt: Date }): Promise<void> {
    await this.db
      .insertInto('admin_page_sessions')
      .values({ token_hash: input.tokenHash, admin_token_mac: input.adminTokenMac, actor: input.actor, expires_at: input.expiresAt })
      .execute();
  }

  /** The actor of a live session opened under the current admin token, if any. */
  async findLiveActor(tokenHash: Buffer, adminTokenMac: Buffer): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('admin_page_sessions')
      .select('actor')
      .where('token_hash', '=', tokenHash)
      .where('admin_token_mac', '=', adminTokenMac)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row?.actor;
  }

  async deleteByTokenHash(tokenHash: Buffer): Promise<void> {
    await this.db.deleteFrom('admin_page_sessions').where('token_hash', '=', tokenHash).execute();
  }

  /** Deletes up to `limit` expired sessions; returns how many went. */
  async deleteExpired(limit: number): Promise<number> {
    const result = await sql`
      delete from admin_page_sessions where id in (
        select id from admin_page_sessions where expires_at <= now() order by expires_at limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
