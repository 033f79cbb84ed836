import { sql } from 'kysely';
import { isUniqueViolation } from '../db/pg-errors.js';
import { AppError } from '../errors.js';
import { Repository } from './repository.js';

/** An account as the services see it; the password hash never leaves the services layer. */
export interface AccountRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  emailVerifiedAt: Date | null;
  createdAt: Date;
}

const accountColumns = [
  'id',
  'email',
  'name',
  'password_hash as passwordHash',
  'email_verified_at as emailVerifiedAt',
  'created_at as createdAt',
] as const;

/** SQL for the accounts table. */
export class AccountRepository extends Repository {
  /** Inserts an account; a taken address (any letter case) becomes `email_taken`. */
  async insert(input: { email: string; name: string; passwordHash: string; verified?: boolean; verifiedAt?: Date }): Promise<AccountRow> {
    try {
      return await this.db
        .insertInto('accounts')
        .values({
          email: input.email,
          name: input.name,
          password_hash: input.passwordHash,
          email_verified_at: input.verifiedAt ?? (input.verified ? sql<Date>`now()` : null),
        })
        .returning(accountColumns)
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, 'accounts_email_key')) throw emailTaken();
      throw error;
    }
  }

  async findByEmail(email: string): Promise<AccountRow | undefined> {
    return this.db
      .selectFrom('accounts')
      .select(accountColumns)
      .where(sql`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst();
  }

  async findById(id: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').select(accountColumns).where('id', '=', id).executeTakeFirst();
  }

  /** Locks the account row for the rest of the transaction, serialising changes to it. */
  async lockById(id: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').select(accountColumns).where('id', '=', id).forUpdate().executeTakeFirst();
  }

  /** Marks the address verified; keeps the first verification time. Returns whether it changed. */
  async markVerified(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('accounts')
      .set({ email_verified_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', id)
      .where('email_verified_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

/** The one error for an address that already has an account. */
export function emailTaken(): AppError {
  return new AppError('email_taken', 'An account with this email address already exists. Sign in instead.', {
    fields: [{ field: 'email', message: 'is already registered' }],
  });
}
