import { sql } from 'kysely';
import { Repository } from './repository.js';

/** Who a verification email goes to. */
export interface VerificationRecipient {
  accountId: string;
  email: string;
  name: string;
  expiresAt: Date;
  tokenHash: Buffer;
}

/** SQL for email_verifications; tokens are only ever seen as hashes here. */
export class VerificationRepository extends Repository {
  /** Inserts a verification whose id the caller chose (its token is derived from it). */
  async insert(input: { id: string; accountId: string; tokenHash: Buffer; expiresAt: Date }): Promise<void> {
    await this.db
      .insertInto('email_verifications')
      .values({ id: input.id, account_id: input.accountId, token_hash: input.tokenHash, expires_at: input.expiresAt })
      .execute();
  }

  /** Consumes a usable token in one statement, so of concurrent callers exactly one gets the row. */
  async consume(tokenHash: Buffer): Promise<{ id: string; accountId: string } | undefined> {
    return this.db
      .updateTable('email_verifications')
      .set({ verified_at: sql`now()` })
      .where('token_hash', '=', tokenHash)
      .where('verified_at', 'is', null)
      .where('invalidated_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['id', 'account_id as accountId'])
      .executeTakeFirst();
  }

  /** True when the token exists, was never used or superseded, and has run out of time. */
  async isExpired(tokenHash: Buffer): Promise<boolean> {
    const row = await this.db
      .selectFrom('email_verifications')
      .select('id')
      .where('token_hash', '=', tokenHash)
      .where('verified_at', 'is', null)
      .where('invalidated_at', 'is', null)
      .where('expires_at', '<=', sql<Date>`now()`)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Supersedes every open token of the account. */
  async invalidateOpen(accountId: string): Promise<void> {
    await this.db
      .updateTable('email_verifications')
      .set({ invalidated_at: sql`now()` })
      .where('account_id', '=', accountId)
      .where('verified_at', 'is', null)
      .where('invalidated_at', 'is', null)
      .execute();
  }

  /** Seconds since the account's newest token was made, by the database clock; undefined if none. */
  async secondsSinceNewest(accountId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('email_verifications')
      .select(sql<number | null>`extract(epoch from now() - max(created_at))::float8`.as('age'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row?.age ?? undefined;
  }

  /**
   * The recipient of a verification email still to send: undefined once it was sent, used,
   * superseded or expired.
   */
  async findUnsent(id: string): Promise<VerificationRecipient | undefined> {
    return this.db
      .selectFrom('email_verifications as v')
      .innerJoin('accounts as a', 'a.id', 'v.account_id')
      .select(['a.id as accountId', 'a.email', 'a.name', 'v.expires_at as expiresAt', 'v.token_hash as tokenHash'])
      .where('v.id', '=', id)
      .where('v.sent_at', 'is', null)
      .where('v.verified_at', 'is', null)
      .where('v.invalidated_at', 'is', null)
      .where('v.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
  }

  /** Stores the hash of an unsent verification's derived token (for rows written before links were derived). */
  async setUnsentTokenHash(id: string, tokenHash: Buffer): Promise<void> {
    await this.db.updateTable('email_verifications').set({ token_hash: tokenHash }).where('id', '=', id).where('sent_at', 'is', null).execute();
  }

  /** Records that the mail server accepted the email, so a retry of the job sends nothing. */
  async markSent(id: string): Promise<void> {
    await this.db.updateTable('email_verifications').set({ sent_at: sql`now()` }).where('id', '=', id).execute();
  }

  /** Deletes up to `limit` tokens that stopped being usable more than `days` days ago. */
  async deleteDead(days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from email_verifications where id in (
        select id from email_verifications
        where coalesce(verified_at, invalidated_at, expires_at) < now() - make_interval(days => ${days})
        limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
