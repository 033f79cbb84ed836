import { createHash, randomUUID } from 'node:crypto';
import type { Plan } from '../config.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { IdempotencyRepository } from '../repositories/idempotency-repository.js';
import type { RegistrationRepository, SignupRows } from '../repositories/registration-repository.js';
import type { NewEvent } from './events/catalogue.js';
import type { ProvisioningService } from './provisioning-service.js';
import type { EventRecorder } from './events/event-recorder.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { IssuedSession, SessionService } from './session-service.js';
import { emailedTokens } from './emailed-tokens.js';
import type { TokenDeriver } from './token-deriver.js';
import { toAccountView, toWorkspaceView, type AccountView, type WorkspaceView } from './views.js';
import { IDEMPOTENCY_TTL_SECONDS, KeyAlreadyUsed } from './idempotency.js';
import { defaultPlan } from './workspace-creation-service.js';

/** What a person gives to sign up; names arrive trimmed. */
export interface RegistrationInput {
  email: string;
  password: string;
  name: string;
  workspaceName: string;
}

/** The created account and workspace, exactly as first answered (replays return the same). */
export interface Registration {
  account: AccountView;
  workspace: WorkspaceView;
}

const IDEMPOTENCY_SCOPE = 'registration';

/** Sign-up: one transaction for account, workspace, membership, progress, token, session and jobs. */
export class RegistrationService {
  constructor(
    private readonly deps: {
      db: Db;
      accounts: AccountRepository;
      signups: RegistrationRepository;
      idempotency: IdempotencyRepository;
      sessions: SessionService;
      events: EventRecorder;
      provisioning: Pick<ProvisioningService, 'inlineSettings'>;
      tokens: TokenDeriver;
      emailVerificationTtlSeconds: number;
      /** PLANS: a registration's workspace is on the first free one (defaultPlan). */
      plans: readonly Plan[];
    },
  ) {}

  /**
   * Registers a person and their workspace. With an idempotency key, a retry of the same request
   * within 24 hours gets the first answer again (and a session); a different request gets 422.
   */
  async register(input: RegistrationInput, idempotencyKey?: string): Promise<Registration & { session: IssuedSession }> {
    const email = normalizeEmail(input.email);
    const requestHash = fingerprint({ ...input, email });
    if (idempotencyKey) {
      const replay = await this.replay(idempotencyKey, requestHash, input.password);
      if (replay) return replay;
    }
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.create({ ...input, email }, passwordHash, idempotencyKey, requestHash);
    } catch (error) {
      if (!(error instanceof KeyAlreadyUsed) || !idempotencyKey) throw error;
      const replay = await this.replay(idempotencyKey, requestHash, input.password);
      if (!replay) throw error;
      return replay;
    }
  }

  private async create(
    input: RegistrationInput,
    passwordHash: string,
    idempotencyKey: string | undefined,
    requestHash: Buffer,
  ): Promise<Registration & { session: IssuedSession }> {
    const session = this.deps.sessions.mint();
    const [accountId, workspaceId, verificationId] = [randomUUID(), randomUUID(), randomUUID()];
    const settings = this.deps.provisioning.inlineSettings();
    const plan = defaultPlan(this.deps.plans).id;
    const events: NewEvent[] = [
      { type: 'account.registered', workspaceId, data: { accountId, email: input.email, name: input.name, emailVerified: false, via: 'registration' } },
      { type: 'workspace.created', workspaceId, data: { workspaceId, name: input.workspaceName, plan, ownerAccountId: accountId } },
      ...(settings ? [{ type: 'workspace.initialized' as const, workspaceId, data: { workspaceId } }] : []),
    ];
    const rows: SignupRows = {
      accountId,
      workspaceId,
      verificationId,
      email: input.email,
      name: input.name,
      passwordHash,
      workspaceName: input.workspaceName,
      plan,
      initialSettings: settings,
      verificationTokenHash: emailedTokens.verification(this.deps.tokens, verificationId).hash,
      verificationExpiresAt: new Date(Date.now() + this.deps.emailVerificationTtlSeconds * 1000),
      sessionTokenHash: session.hash,
      sessionExpiresAt: session.expiresAt,
      jobs: [
        { name: 'send_verification_email', payload: { verificationId }, options: { jobKey: verificationJobKey(accountId) } },
        ...(settings ? [] : [{ name: 'initialize_workspace' as const, payload: { workspaceId } }]),
      ],
      events: this.deps.events.prepare(...events),
    };
    const issued = { token: session.token, expiresAt: session.expiresAt };
    // Reactions to these events (ONBOARDING_STEP_EVENTS) run in the transaction after the statement.
    const reacts = this.deps.events.hasReactions(events);
    if (!idempotencyKey && !reacts) {
      // One statement is atomic by itself: no transaction round trips needed.
      const { account, workspace } = await this.deps.signups.insertSignup(rows);
      return { account: toAccountView(account), workspace: toWorkspaceView(workspace), session: issued };
    }
    return this.deps.db.transaction().execute(async (trx) => {
      const idempotency = this.deps.idempotency.withTx(trx);
      if (idempotencyKey && !(await idempotency.claim(IDEMPOTENCY_SCOPE, idempotencyKey, requestHash, IDEMPOTENCY_TTL_SECONDS))) {
        throw new KeyAlreadyUsed();
      }
      const { account, workspace } = await this.deps.signups.withTx(trx).insertSignup(rows);
      if (reacts) await this.deps.events.react(trx, events);
      const registration: Registration = { account: toAccountView(account), workspace: toWorkspaceView(workspace) };
      if (idempotencyKey) await idempotency.saveResponse(IDEMPOTENCY_SCOPE, idempotencyKey, account.id, registration);
      return { ...registration, session: issued };
    });
  }

  /**
   * The first answer for a key, if the key was used: only for the same request and the same password
   * (checked against the account's hash, so no password-derived value is ever kept with the key).
   */
  private async replay(key: string, requestHash: Buffer, password: string): Promise<(Registration & { session: IssuedSession }) | undefined> {
    const record = await this.deps.idempotency.find(IDEMPOTENCY_SCOPE, key, IDEMPOTENCY_TTL_SECONDS);
    if (!record || record.response === null || record.accountId === null) return undefined;
    const account = await this.deps.accounts.findById(record.accountId);
    const samePassword = await verifyPassword(account?.passwordHash, password);
    if (!record.requestHash.equals(requestHash) || !samePassword) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
    }
    const session = await this.deps.db.transaction().execute((trx) => this.deps.sessions.open(trx, record.accountId!));
    return { ...(record.response as Registration), session };
  }
}

/** The job key that makes a newer verification email replace a queued, unsent older one. */
export function verificationJobKey(accountId: string): string {
  return `verification-email:${accountId}`;
}

/** Addresses are compared and stored in lower case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Identifies a registration request without the password. */
function fingerprint(input: RegistrationInput): Buffer {
  return createHash('sha256')
    .update(JSON.stringify([input.email, input.name, input.workspaceName]))
    .digest();
}
