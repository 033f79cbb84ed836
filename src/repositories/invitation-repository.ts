import { sql } from 'kysely';
import type { InvitationStatus, Role } from '../db/schema.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { Repository } from './repository.js';

/** An invitation as the services see it; never its token hash. */
export interface InvitationRow {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  invitedBy: string | null;
  inviterName: string | null;
  expiresAt: Date;
  sentAt: Date;
  /** Which send is current: the emailed link is derived from (id, sendNumber). */
  sendNumber: number;
  acceptedBy: string | null;
  createdAt: Date;
}

/** Who an invitation email goes to and what it says. */
export interface InvitationRecipient {
  email: string;
  workspaceName: string;
  inviterName: string;
  expiresAt: Date;
}

/** SQL for invitations; tokens are only ever seen as hashes here. */
export class InvitationRepository extends Repository {
  private select() {
    return this.db
      .selectFrom('invitations as i')
      .leftJoin('accounts as inviter', 'inviter.id', 'i.invited_by')
      .select([
        'i.id',
        'i.workspace_id as workspaceId',
        'i.email',
        'i.role',
        'i.status',
        'i.invited_by as invitedBy',
        'inviter.name as inviterName',
        'i.expires_at as expiresAt',
        'i.sent_at as sentAt',
        'i.send_number as sendNumber',
        'i.accepted_by as acceptedBy',
        'i.created_at as createdAt',
      ]);
  }

  /**
   * Inserts a pending invitation (send number 1) with the id the caller chose, its link derived
   * from it; false when the address has a pending invitation to the workspace already.
   */
  async insertPending(input: { id: string; workspaceId: string; email: string; role: Role; invitedBy: string; tokenHash: Buffer; expiresAt: Date }): Promise<boolean> {
    try {
      await this.db
        .insertInto('invitations')
        .values({
          id: input.id,
          workspace_id: input.workspaceId,
          email: input.email,
          role: input.role,
          invited_by: input.invitedBy,
          token_hash: input.tokenHash,
          expires_at: input.expiresAt,
        })
        .execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error, 'invitations_pending_email_key')) return false;
      throw error;
    }
  }

  /** Marks the address's pending invitation expired if its time is up, so a new one can be sent. */
  async expireStale(workspaceId: string, email: string): Promise<void> {
    await this.db
      .updateTable('invitations')
      .set({ status: 'expired' })
      .where('workspace_id', '=', workspaceId)
      .where(sql`lower(email)`, '=', email.toLowerCase())
      .where('status', '=', 'pending')
      .where('expires_at', '<=', sql<Date>`now()`)
      .execute();
  }

  async findPendingByEmail(workspaceId: string, email: string): Promise<InvitationRow | undefined> {
    return this.select()
      .where('i.workspace_id', '=', workspaceId)
      .where(sql`lower(i.email)`, '=', email.toLowerCase())
      .where('i.status', '=', 'pending')
      .executeTakeFirst();
  }

  async findById(workspaceId: string, id: string): Promise<InvitationRow | undefined> {
    return this.select().where('i.workspace_id', '=', workspaceId).where('i.id', '=', id).executeTakeFirst();
  }

  /** Locks one invitation row for the rest of the transaction. */
  async lockById(workspaceId: string, id: string): Promise<InvitationRow | undefined> {
    return this.select().where('i.workspace_id', '=', workspaceId).where('i.id', '=', id).forUpdate('i').executeTakeFirst();
  }

  async findByTokenHash(tokenHash: Buffer): Promise<InvitationRow | undefined> {
    return this.select().where('i.token_hash', '=', tokenHash).executeTakeFirst();
  }

  /** Pending invitations that have not run out, newest first. */
  async listPending(workspaceId: string): Promise<InvitationRow[]> {
    return this.select()
      .where('i.workspace_id', '=', workspaceId)
      .where('i.status', '=', 'pending')
      .where('i.expires_at', '>', sql<Date>`now()`)
      .orderBy('i.created_at', 'desc')
      .execute();
  }

  /**
   * Makes `sendNumber` the invitation's current send, with that send's token hash and a new expiry:
   * the previous link stops working now.
   */
  async renew(id: string, input: { sendNumber: number; tokenHash: Buffer; expiresAt: Date }): Promise<void> {
    await this.db
      .updateTable('invitations')
      .set({ send_number: input.sendNumber, token_hash: input.tokenHash, expires_at: input.expiresAt, sent_at: sql`now()` })
      .where('id', '=', id)
      .execute();
  }

  /** Revokes a pending invitation; returns false when there was none to revoke. */
  async revoke(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('invitations')
      .set({ status: 'revoked', revoked_at: sql`now()` })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Accepts a usable invitation in one statement, so of concurrent callers exactly one gets it. */
  async consume(tokenHash: Buffer, accountId: string | null): Promise<InvitationRow | undefined> {
    const consumed = await this.db
      .updateTable('invitations')
      .set({ status: 'accepted', accepted_at: sql`now()`, accepted_by: accountId })
      .where('token_hash', '=', tokenHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['id', 'workspace_id as workspaceId'])
      .executeTakeFirst();
    return consumed && this.findById(consumed.workspaceId, consumed.id);
  }

  /** Records who accepted, for an invitation consumed before its account existed. */
  async setAcceptedBy(id: string, accountId: string): Promise<void> {
    await this.db.updateTable('invitations').set({ accepted_by: accountId }).where('id', '=', id).execute();
  }

  /**
   * The recipient of send `sendNumber` of an invitation, while that send is the current one and the
   * invitation is pending and unexpired; undefined once superseded, revoked, accepted or expired.
   */
  async findSendable(id: string, sendNumber: number): Promise<InvitationRecipient | undefined> {
    return this.db
      .selectFrom('invitations as i')
      .innerJoin('workspaces as w', 'w.id', 'i.workspace_id')
      .leftJoin('accounts as inviter', 'inviter.id', 'i.invited_by')
      .select([
        'i.email',
        'w.name as workspaceName',
        sql<string>`coalesce(inviter.name, 'A teammate')`.as('inviterName'),
        'i.expires_at as expiresAt',
      ])
      .where('i.id', '=', id)
      .where('i.send_number', '=', sendNumber)
      .where('i.status', '=', 'pending')
      .where('i.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
  }

  /** Deletes up to `limit` invitations that stopped being pending more than `days` days ago. */
  async deleteDead(days: number, limit: number): Promise<number> {
    const result = await sql`
      delete from invitations where id in (
        select id from invitations
        where (status <> 'pending' or expires_at < now()) and created_at < now() - make_interval(days => ${days})
        limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}
