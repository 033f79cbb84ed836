import { sql } from 'kysely';
import type { SignupCodeKind } from '../../db/schema.js';
import { Repository } from '../repository.js';

/** A staged sign-up as the services see it; the password hash stays in this layer and the services. */
export interface FlowRow {
  id: string;
  email: string | null;
  emailVerifiedAt: Date | null;
  codeKind: SignupCodeKind | null;
  codeHash: Buffer | null;
  codeNumber: number;
  codeAttempts: number;
  codeExpiresAt: Date | null;
  codeSentAt: Date | null;
  data: FlowData;
  version: number;
  passwordHash: string | null;
  stepsReached: string[];
  marketingConsent: boolean;
  consentTextVersion: string | null;
  consentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
  discardedAt: Date | null;
  purgedAt: Date | null;
  accountId: string | null;
  workspaceId: string | null;
  /** expires_at has passed, by the database's clock. */
  expired: boolean;
}

/** The flow behind a cookie, and that cookie's own state. */
export interface TokenFlowRow extends FlowRow {
  /** Set once the flow completed through this cookie. */
  tokenRevokedAt: Date | null;
}

/** The collected sections; each is validated whole before it is stored. */
export interface FlowData {
  profile?: { firstName: string; lastName: string };
  company?: { name: string };
  address?: { line1: string; line2?: string; city: string; region?: string; postalCode: string; country: string };
  plan?: { id: string };
  /** Filled by the billing integration (never by PATCH): the payment method on file for a paid plan. */
  paymentMethod?: Record<string, unknown>;
  [section: string]: unknown;
}

/** How long a flow lives: idle after its last write, and at most after its start. */
export interface FlowLifetime {
  idleSeconds: number;
  maxSeconds: number;
}

/** One auto-save: sections to replace, at the version the caller last saw. */
export interface FlowSave {
  tokenHash: Buffer;
  version: number;
  sections: Partial<FlowData>;
  /** argon2id of a new password, if one came with the profile. */
  passwordHash: string | null;
  lifetime: FlowLifetime;
}

/** A code to store: its kind, number and hash (the code itself is derived again when sent). */
export interface NewCode {
  kind: SignupCodeKind;
  hash: Buffer;
  expiresAt: Date;
}

const flowColumns = sql`
  f.id, f.email, f.email_verified_at as "emailVerifiedAt", f.code_kind as "codeKind", f.code_hash as "codeHash",
  f.code_number as "codeNumber", f.code_attempts as "codeAttempts", f.code_expires_at as "codeExpiresAt",
  f.code_sent_at as "codeSentAt", f.data, f.version, f.password_hash as "passwordHash", f.steps_reached as "stepsReached",
  f.marketing_consent as "marketingConsent", f.consent_text_version as "consentTextVersion", f.consent_at as "consentAt",
  f.created_at as "createdAt", f.updated_at as "updatedAt", f.expires_at as "expiresAt", f.completed_at as "completedAt",
  f.discarded_at as "discardedAt", f.purged_at as "purgedAt", f.account_id as "accountId", f.workspace_id as "workspaceId",
  f.expires_at <= now() as expired`;

/** The new expiry after a write: idle life from now, never past the flow's maximum life. */
function nextExpiry(lifetime: FlowLifetime) {
  return sql`least(f.created_at + make_interval(secs => ${lifetime.maxSeconds}::int), now() + make_interval(secs => ${lifetime.idleSeconds}::int))`;
}

/** A flow still open to writes: not completed, discarded, purged or expired. */
const OPEN = sql`f.completed_at is null and f.discarded_at is null and f.purged_at is null and f.expires_at > now()`;

/** SQL for signup_flows and their cookies (signup_flow_tokens). */
export class SignupFlowRepository extends Repository {
  /** A new flow with its first cookie, in one statement. */
  async insert(tokenHash: Buffer, lifetime: FlowLifetime): Promise<FlowRow> {
    const { rows } = await sql<FlowRow>`
      with f as (
        insert into signup_flows (expires_at)
        values (now() + make_interval(secs => least(${lifetime.idleSeconds}::int, ${lifetime.maxSeconds}::int)))
        returning *
      ), token as (
        insert into signup_flow_tokens (token_hash, flow_id) select ${tokenHash}, id from f
      )
      select ${flowColumns} from f`.execute(this.db);
    return rows[0]!;
  }

  /** The flow behind a cookie, whatever its state; undefined for an unknown cookie. */
  async findByToken(tokenHash: Buffer, options: { lock?: boolean } = {}): Promise<TokenFlowRow | undefined> {
    const { rows } = await sql<TokenFlowRow>`
      select ${flowColumns}, t.revoked_at as "tokenRevokedAt"
      from signup_flow_tokens t join signup_flows f on f.id = t.flow_id
      where t.token_hash = ${tokenHash}
      ${options.lock ? sql`for update of f` : sql``}`.execute(this.db);
    return rows[0];
  }

  /** Locks a flow by id for the rest of the transaction. */
  async lock(flowId: string): Promise<FlowRow | undefined> {
    const { rows } = await sql<FlowRow>`select ${flowColumns} from signup_flows f where f.id = ${flowId} for update`.execute(this.db);
    return rows[0];
  }

  async findById(flowId: string): Promise<FlowRow | undefined> {
    const { rows } = await sql<FlowRow>`select ${flowColumns} from signup_flows f where f.id = ${flowId}`.execute(this.db);
    return rows[0];
  }

  /**
   * The newest open flow whose verified address is `email`, locked: what a resume binds to.
   */
  async lockOpenByVerifiedEmail(email: string): Promise<FlowRow | undefined> {
    const { rows } = await sql<FlowRow>`
      select ${flowColumns} from signup_flows f
      where lower(f.email) = ${email.toLowerCase()} and f.email is not null and f.email_verified_at is not null
        and f.completed_at is null and f.purged_at is null and ${OPEN}
      order by f.created_at desc limit 1
      for update of f`.execute(this.db);
    return rows[0];
  }

  /**
   * Several auto-saves in ONE statement, each applying only at the version its caller last saw, to
   * an open flow its cookie still belongs to. Rows another transaction holds are skipped and answered
   * 'locked' (saved alone afterwards), as onboarding drafts do; undefined means refused (the caller
   * tells why). Saves of one flow at the same version update it once. With `wait`, held rows are
   * waited for instead (a save that was skipped, retried alone).
   */
  async saveMany(saves: FlowSave[], options: { wait?: boolean } = {}): Promise<(FlowRow | 'locked' | undefined)[]> {
    const lifetime = saves[0]!.lifetime;
    const { rows } = await sql<FlowRow & { index: number; locked: boolean; savedIndex: number | null }>`
      with input as materialized (
        select t.index, tok.flow_id, t.version, t.sections, t.password_hash
        from unnest(${saves.map((_, i) => i)}::int[], ${saves.map((s) => s.tokenHash)}::bytea[], ${saves.map((s) => s.version)}::int[],
                    ${saves.map((s) => JSON.stringify(s.sections))}::jsonb[], ${saves.map((s) => s.passwordHash)}::text[])
          as t(index, token_hash, version, sections, password_hash)
        join signup_flow_tokens tok on tok.token_hash = t.token_hash and tok.revoked_at is null
      ), lockable as materialized (
        select id from signup_flows where id in (select flow_id from input) for update ${options.wait ? sql`` : sql`skip locked`}
      ), saved as (
        update signup_flows as f
        set data = f.data || t.sections,
            password_hash = coalesce(t.password_hash, f.password_hash),
            steps_reached = array(select distinct s from unnest(f.steps_reached || array(select jsonb_object_keys(t.sections))) s order by s),
            version = f.version + 1, updated_at = now(), expires_at = ${nextExpiry(lifetime)}
        from input as t
        where f.id = t.flow_id and f.id in (select id from lockable) and f.version = t.version and ${OPEN}
        returning t.index as "savedIndex", ${flowColumns}
      )
      select i.index, i.flow_id not in (select id from lockable) as locked, s.*
      from input i left join saved s on s."savedIndex" = i.index`.execute(this.db);
    const byIndex = new Map(
      rows.map(({ index, locked, savedIndex, ...row }) => [index, locked ? ('locked' as const) : savedIndex === null ? undefined : (row as FlowRow)]),
    );
    return saves.map((_, i) => byIndex.get(i));
  }

  /**
   * Sets the address (and consent). A changed address loses its verification; the caller then
   * stores a new code. Moves the expiry; returns the flow as it is now.
   */
  async setEmail(flowId: string, input: { email: string; consent?: { granted: boolean; textVersion: string } }, lifetime: FlowLifetime): Promise<FlowRow> {
    const { rows } = await sql<FlowRow>`
      update signup_flows f
      set email_verified_at = case when lower(f.email) is not distinct from lower(${input.email}) then f.email_verified_at end,
          steps_reached = case when lower(f.email) is not distinct from lower(${input.email}) then f.steps_reached
                               else array_remove(f.steps_reached, 'email') end,
          email = ${input.email},
          ${input.consent ? sql`marketing_consent = ${input.consent.granted}, consent_text_version = ${input.consent.textVersion}, consent_at = now(),` : sql``}
          version = f.version + 1, updated_at = now(), expires_at = ${nextExpiry(lifetime)}
      where f.id = ${flowId}
      returning ${flowColumns}`.execute(this.db);
    return rows[0]!;
  }

  /** Replaces the flow's code with a new one (the next number); returns that number. */
  async storeCode(flowId: string, code: (number: number) => NewCode): Promise<number> {
    const current = await this.db.selectFrom('signup_flows').select('code_number').where('id', '=', flowId).executeTakeFirstOrThrow();
    const number = current.code_number + 1;
    const { kind, hash, expiresAt } = code(number);
    await this.db
      .updateTable('signup_flows')
      .set({ code_kind: kind, code_hash: hash, code_number: number, code_attempts: 0, code_expires_at: expiresAt, code_sent_at: sql`now()` })
      .where('id', '=', flowId)
      .execute();
    return number;
  }

  /** Counts a wrong code; returns the attempts made so far. */
  async countWrongCode(flowId: string): Promise<number> {
    const row = await this.db
      .updateTable('signup_flows')
      .set({ code_attempts: sql`code_attempts + 1` })
      .where('id', '=', flowId)
      .returning('code_attempts')
      .executeTakeFirstOrThrow();
    return row.code_attempts;
  }

  /** Consumes the code; for an email code, marks the address verified now. */
  async consumeCode(flowId: string, verifyEmail: boolean, lifetime: FlowLifetime): Promise<FlowRow> {
    const { rows } = await sql<FlowRow>`
      update signup_flows f
      set code_hash = null, code_kind = null, code_expires_at = null,
          ${verifyEmail ? sql`email_verified_at = now(), steps_reached = array(select distinct s from unnest(f.steps_reached || '{email}'::text[]) s order by s), version = f.version + 1,` : sql``}
          updated_at = now(), expires_at = ${nextExpiry(lifetime)}
      where f.id = ${flowId}
      returning ${flowColumns}`.execute(this.db);
    return rows[0]!;
  }

  /**
   * Stores one section the server itself fills (e.g. `paymentMethod`, by the billing integration) on
   * an open flow, inside the caller's transaction; moves the version and the expiry like a save.
   */
  async setSection(flowId: string, section: string, value: Record<string, unknown>, lifetime: FlowLifetime): Promise<FlowRow | undefined> {
    const { rows } = await sql<FlowRow>`
      update signup_flows f
      set data = f.data || jsonb_build_object(${section}::text, ${JSON.stringify(value)}::jsonb),
          steps_reached = array(select distinct s from unnest(f.steps_reached || array[${section}::text]) s order by s),
          version = f.version + 1, updated_at = now(), expires_at = ${nextExpiry(lifetime)}
      where f.id = ${flowId} and ${OPEN}
      returning ${flowColumns}`.execute(this.db);
    return rows[0];
  }

  /**
   * Takes the card off the flow when it is still the one given (a decline: the flow is back at its
   * payment step); a card put on file meanwhile, from another tab, stays.
   */
  async removeCard(flowId: string, paymentMethodId: string): Promise<void> {
    await sql`
      update signup_flows f set data = f.data - 'paymentMethod', version = f.version + 1, updated_at = now()
      where f.id = ${flowId} and ${OPEN} and f.data -> 'paymentMethod' ->> 'id' = ${paymentMethodId}`.execute(this.db);
  }

  /** Binds another device's cookie to the flow. */
  async insertToken(flowId: string, tokenHash: Buffer): Promise<void> {
    await this.db.insertInto('signup_flow_tokens').values({ token_hash: tokenHash, flow_id: flowId }).execute();
  }

  /**
   * Marks the flow completed with what it became, drops the password hash and the code, and revokes
   * every cookie: the one that completed it may replay the completion for a short while, the others
   * are deleted.
   */
  async markCompleted(flowId: string, became: { accountId: string; workspaceId: string }, completingTokenHash: Buffer | null): Promise<void> {
    await sql`
      with done as (
        update signup_flows set completed_at = now(), updated_at = now(), account_id = ${became.accountId},
          workspace_id = ${became.workspaceId}, password_hash = null, code_hash = null, code_kind = null, code_expires_at = null,
          steps_reached = array(select distinct s from unnest(steps_reached || '{completed}'::text[]) s order by s)
        where id = ${flowId}
      ), others as (
        delete from signup_flow_tokens where flow_id = ${flowId} and token_hash is distinct from ${completingTokenHash}
      )
      update signup_flow_tokens set revoked_at = now() where flow_id = ${flowId} and token_hash = ${completingTokenHash}`.execute(this.db);
  }

  /** Discards a flow: its personal data goes at once, and every cookie with it. */
  async discard(flowId: string): Promise<void> {
    await this.purge(flowId, { discard: true });
  }

  /** Purges one flow's personal data and cookies now (a discard, or a lead erased on request). */
  async purge(flowId: string, options: { discard?: boolean } = {}): Promise<void> {
    await sql`
      with tokens as (delete from signup_flow_tokens where flow_id = ${flowId})
      update signup_flows set ${options.discard ? sql`discarded_at = now(), updated_at = now(),` : sql``} ${PURGED_SET}
      where id = ${flowId}`.execute(this.db);
  }

  /** Marks up to `limit` flows past their life as expired; skips rows others hold. Returns how many. */
  async expireDue(limit: number): Promise<number> {
    const result = await sql`
      update signup_flows set expired_at = now()
      where id in (
        select id from signup_flows
        where expired_at is null and completed_at is null and discarded_at is null and expires_at <= now()
        order by expires_at limit ${limit} for update skip locked
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }

  /**
   * Purges the personal data of up to `limit` flows that expired or completed more than
   * `retentionDays` ago, and their cookies; what the funnel counts stays. Returns how many.
   */
  async purgeDue(retentionDays: number, limit: number): Promise<number> {
    const result = await sql`
      with due as (
        select id from signup_flows
        where purged_at is null and (completed_at is not null or expired_at is not null)
          and coalesce(completed_at, expired_at) < now() - make_interval(days => ${retentionDays}::int)
        order by coalesce(completed_at, expired_at) limit ${limit} for update skip locked
      ), tokens as (
        delete from signup_flow_tokens where flow_id in (select id from due)
      )
      update signup_flows set ${PURGED_SET} where id in (select id from due)`.execute(this.db);
    return Number(result.numAffectedRows ?? 0n);
  }
}

/** What purging a flow sets: every personal field emptied, the time recorded. */
const PURGED_SET = sql`email = null, data = '{}', password_hash = null, code_hash = null, code_kind = null, code_expires_at = null,
  consent_text_version = null, purged_at = now()`;
