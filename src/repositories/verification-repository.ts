import { sql } from 'kysely';
import { Repository } from './repository.js';

/** Who a verification email goes to, once its token is minted. */
export interface VerificationRecipient {
  accountId: string;
  email: string;
  name: string;
  expiresAt: Date;
}

/** SQL for email_verifications; tokens are only ever seen as hashes here. */
export class VerificationRepository extends Repository {
  async insert(input: { accountId: string; tokenHash: Buffer; expiresAt: Date }): Promise<string> {
    const row = await this.db
      .insertInto('email_verifications')
      .values({ account_id: input.accountId, token_hash: input.tokenHash, expires_at: input.expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
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
   * Gives a still-usable verification the hash of a freshly minted token, at send time, so the raw
   * token exists only in the email; returns the recipient, or undefined when it was already sent,
   * used or superseded.
   */
  async replaceTokenHash(id: string, tokenHash: Buffer): Promise<VerificationRecipient | undefined> {
    return this.db
      .updateTable('email_verifications as v')
      .from('accounts as a')
      .set({ token_hash: tokenHash })
      .whereRef('a.id', '=', 'v.account_id')
      .where('v.id', '=', id)
      .where('v.sent_at', 'is', null)
      .where('v.verified_at', 'is', null)
      .where('v.invalidated_at', 'is', null)
      .where('v.expires_at', '>', sql<Date>`now()`)
      .returning(['a.id as accountId', 'a.email', 'a.name', 'v.expires_at as expiresAt'])
      .executeTakeFirst();
  }

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
