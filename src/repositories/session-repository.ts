import { sql } from 'kysely';
import { Repository } from './repository.js';

/** A live session with the account it belongs to. */
export interface SessionRow {
  id: string;
  accountId: string;
  expiresAt: Date;
}

/** The channel on which every instance hears that a session ended. */
export const SESSION_ENDED_CHANNEL = 'session_ended';

/** SQL for the sessions table; tokens are only ever seen as hashes here. */
export class SessionRepository extends Repository {
  async insert(input: { tokenHash: Buffer; accountId: string; expiresAt: Date }): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({ token_hash: input.tokenHash, account_id: input.accountId, expires_at: input.expiresAt })
      .execute();
  }

  async findLive(tokenHash: Buffer): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('sessions')
      .select(['id', 'account_id as accountId', 'expires_at as expiresAt'])
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
  }

  async extend(id: string, expiresAt: Date): Promise<void> {
    await this.db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', id).execute();
  }

  /** Deletes the session and tells every instance (on commit) to forget it. */
  async deleteByTokenHash(tokenHash: Buffer): Promise<void> {
    await sql`
      with gone as (delete from sessions where token_hash = ${tokenHash} returning token_hash)
      select pg_notify(${SESSION_ENDED_CHANNEL}, encode(token_hash, 'hex')) from gone`.execute(this.db);
  }

  /** Deletes up to `limit` expired sessions; returns how many went. */
  async deleteExpired(limit: number): Promise<number> {
    const result = await sql`
      delete from sessions where id in (
        select id from sessions where expires_at <= now() limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
