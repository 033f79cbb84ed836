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
  acceptedBy: string | null;
  createdAt: Date;
}

/** Who an invitation email goes to and what it says, once its token is minted. */
export interface InvitationRecipient {
  email: string;
  workspaceName: string;
  inviterName: string;
  expiresAt: Date;
}

/** Raised by insertPending when the address already has a pending invitation to the workspace. */
export class PendingInvitationExists extends Error {}

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
        'i.accepted_by as acceptedBy',
        'i.created_at as createdAt',
      ]);
  }

  /** Inserts a pending invitation; throws PendingInvitationExists when one is pending already. */
  async insertPending(input: { workspaceId: string; email: string; role: Role; invitedBy: string; tokenHash: Buffer; expiresAt: Date }): Promise<string> {
    try {
      const row = await this.db
        .insertInto('invitations')
        .values({
          workspace_id: input.workspaceId,
          email: input.email,
          role: input.role,
          invited_by: input.invitedBy,
          token_hash: input.tokenHash,
          expires_at: input.expiresAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    } catch (error) {
      if (isUniqueViolation(error, 'invitations_pending_email_key')) throw new PendingInvitationExists();
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

  /** Gives a pending invitation a new placeholder token and expiry: the old link stops working now. */
  async renew(id: string, placeholderHash: Buffer, expiresAt: Date): Promise<void> {
    await this.db
      .updateTable('invitations')
      .set({ token_hash: placeholderHash, expires_at: expiresAt, sent_at: sql`now()` })
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
   * Swaps the placeholder a send was queued with for the hash of the token minted now, so the raw
   * token exists only in the email. A second run of the same send (or a superseded one) finds the
   * placeholder gone and gets undefined: nothing is sent twice.
   */
  async replacePlaceholder(id: string, placeholderHash: Buffer, tokenHash: Buffer): Promise<InvitationRecipient | undefined> {
    return this.db
      .updateTable('invitations as i')
      .from('workspaces as w')
      .set({ token_hash: tokenHash })
      .whereRef('w.id', '=', 'i.workspace_id')
      .where('i.id', '=', id)
      .where('i.token_hash', '=', placeholderHash)
      .where('i.status', '=', 'pending')
      .where('i.expires_at', '>', sql<Date>`now()`)
      .returning([
        'i.email',
        'w.name as workspaceName',
        sql<string>`coalesce((select name from accounts where id = i.invited_by), 'A teammate')`.as('inviterName'),
        'i.expires_at as expiresAt',
      ])
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
