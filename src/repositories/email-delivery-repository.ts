import { sql } from 'kysely';
import { Repository } from './repository.js';

/** SQL for email_deliveries: which intents' emails the mail server is known to have accepted. */
export class EmailDeliveryRepository extends Repository {
  /** Whether the email with this key was accepted before. */
  async wasSent(messageKey: string): Promise<boolean> {
    const row = await this.db.selectFrom('email_deliveries').select('message_key').where('message_key', '=', messageKey).executeTakeFirst();
    return row !== undefined;
  }

  /** Records that the email with this key was accepted; recording it twice changes nothing. */
  async insert(messageKey: string): Promise<void> {
    await this.db.insertInto('email_deliveries').values({ message_key: messageKey }).onConflict((oc) => oc.doNothing()).execute();
  }

  /** Deletes up to `limit` records older than `days` days: no job retries that long. */
  async deleteOlderThan(days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from email_deliveries where message_key in (
        select message_key from email_deliveries where sent_at < now() - make_interval(days => ${days})
        limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
