import { timingSafeEqual } from 'node:crypto';
import type { Config, Plan } from '../../config.js';
import type { Db, Tx } from '../../db/database.js';
import type { SignupCodeKind } from '../../db/schema.js';
import { AppError, invalidFields } from '../../errors.js';
import { emailTaken, type AccountRepository } from '../../repositories/account-repository.js';
import { enqueueJob } from '../../repositories/job-queue.js';
import type { FlowData, FlowLifetime, FlowRow, FlowSave, SignupFlowRepository, TokenFlowRow } from '../../repositories/signup/signup-flow-repository.js';
import { GroupCommit } from '../group-commit.js';
import { hashPassword } from '../passwords.js';
import type { RateLimitService } from '../rate-limit-service.js';
import { normalizeEmail } from '../registration-service.js';
import type { IssuedSession, SessionService } from '../session-service.js';
import type { TokenDeriver } from '../token-deriver.js';
import { hashToken, mintToken } from '../tokens.js';
import { signupIncomplete, type CompletedSignup, type SignupCompletion } from './signup-completion.js';
import { flowProgress, sectionErrors, storedSections, type FlowPatch } from './signup-fields.js';

/** A staged sign-up as its frontend renders it after a reload; never a hash, a code or a password. */
export interface FlowView {
  id: string;
  status: 'in_progress' | 'completed' | 'expired';
  currentStep: string | null;
  steps: { key: string; completed: boolean }[];
  requiredFields: string[];
  missingFields: string[];
  unverifiedFields: string[];
  email: string | null;
  emailVerified: boolean;
  data: { [S in 'profile' | 'company' | 'address' | 'plan']: NonNullable<FlowData[S]> | null } & { paymentMethod: PaymentMethodOnFile | null };
  marketingConsent: { granted: boolean; textVersion: string | null; at: Date | null };
  version: number;
  expiresAt: Date;
}

/** The card on file of a paid plan's flow, for display: never the number. */
export interface PaymentMethodOnFile {
  id: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

/** What the staged sign-up needs from billing (BillingService): a card's details, and the paid completion. */
export interface PaidSignupBilling {
  describeCard(paymentMethodId: string): Promise<PaymentMethodOnFile>;
  completeSignup<R>(input: { flowId: string; planId: string; paymentMethodId: string; email: string; name: string; context?: Record<string, string> }): Promise<{ workspaceId: string; accountId: string; result: R }>;
}

/**
 * The paid sign-up saga's pivot (SignupCompletionPort): the flow locked by id and this sign-up's own
 * completion, in the saga's transaction. `context.completingTokenHash` names the cookie that completes.
 */
export function paidSignupPivot(flows: SignupFlowRepository, completion: SignupCompletion) {
  return {
    async complete(trx: Tx, flowId: string, context: Record<string, string>) {
      const flow = await flows.withTx(trx).lock(flowId);
      if (!flow || flow.discardedAt || flow.purgedAt) throw flowRequired();
      const became = flow.completedAt ? await completion.became(trx, flow) : undefined;
      if (flow.completedAt && !became) throw flowCompleted();
      if (!became && flow.expired) throw flowExpired();
      const done = became ?? (await completion.commit(trx, flow, { completingTokenHash: context.completingTokenHash ? Buffer.from(context.completingTokenHash, 'hex') : null }));
      return { workspaceId: done.workspace.id, accountId: done.account.id, result: done };
    },
  };
}

/** A cookie for a flow: the raw token goes to the browser only. */
export interface IssuedFlowCookie {
  token: string;
  expiresAt: Date;
}

/** How many wrong codes kill a code. */
export const MAX_CODE_ATTEMPTS = 5;
/** Codes a flow may send to changed addresses within one RESEND_COOLDOWN_SECONDS (typo fixes, not a mailing list). */
export const MAX_ADDRESS_CHANGES_PER_COOLDOWN = 3;
/** How long the cookie that completed a flow may replay that completion (a retry after a lost answer). */
const COMPLETION_REPLAY_SECONDS = 15 * 60;
/** Bounds the cookie -> flow id memory; the oldest entry goes first. */
const MAX_CACHED_TOKENS = 100_000;
/** The HMAC purpose of emailed sign-up codes (TokenDeriver). */
const CODE_PURPOSE = 'signup-code';

const flowRequired = () => new AppError('signup_flow_required', 'Start a sign-up first (POST /v1/signup-flows), or resume yours from this device.');
const flowExpired = () => new AppError('signup_flow_expired', 'This sign-up has expired. Start a new one.');
const flowCompleted = () => new AppError('signup_flow_completed', 'This sign-up is already complete. Sign in instead.');

/** The code of a flow, derived from the server secret, its id and the code's number. */
export function signupCode(tokens: TokenDeriver, flowId: string, codeNumber: number): { code: string; hash: Buffer } {
  return tokens.code(CODE_PURPOSE, `${flowId}:${codeNumber}`);
}

type CodeCheck = { ok: true; flow: FlowRow } | { ok: false; error: AppError };

/**
 * The staged sign-up: partial data kept in PostgreSQL until complete, resumable on any device,
 * committed in one transaction by SignupCompletion.
 */
export class SignupFlowService {
  private readonly saves = new GroupCommit((batch: FlowSave[]) => this.deps.flows.saveMany(batch));
  private readonly flowIds = new Map<string, string>();
  private readonly lifetime: FlowLifetime;

  constructor(
    private readonly deps: {
      db: Db;
      flows: SignupFlowRepository;
      accounts: AccountRepository;
      completion: SignupCompletion;
      /** The paid path (billing saga); a plan that requires a payment method cannot complete without it. */
      billing?: PaidSignupBilling;
      sessions: SessionService;
      rateLimits: RateLimitService;
      tokens: TokenDeriver;
      config: Pick<Config, 'signup' | 'plans' | 'resendCooldownSeconds' | 'rateLimits'>;
    },
  ) {
    this.lifetime = { idleSeconds: deps.config.signup.idleSeconds, maxSeconds: deps.config.signup.maxSeconds };
  }

  private get plans(): readonly Plan[] {
    return this.deps.config.plans;
  }

  /** Starts a flow and its first cookie. */
  async start(): Promise<{ flow: FlowView; cookie: IssuedFlowCookie }> {
    const { token, hash } = mintToken();
    const flow = await this.deps.flows.insert(hash, this.lifetime);
    this.remember(hash, flow.id);
    return { flow: this.view(flow), cookie: { token, expiresAt: flow.expiresAt } };
  }

  /**
   * The flow id behind a cookie, remembered in process (a cookie never moves to another flow), for
   * rate-limit keys; every read and write still checks the cookie in SQL. 401 when unknown.
   */
  async flowIdFor(token: string): Promise<string> {
    const hash = hashToken(token);
    const known = this.flowIds.get(hash.toString('hex'));
    if (known) return known;
    const flow = await this.deps.flows.findByToken(hash);
    if (!flow) throw flowRequired();
    this.remember(hash, flow.id);
    return flow.id;
  }

  /** The resume call: the whole state of the flow behind the cookie. */
  async get(token: string): Promise<FlowView> {
    const flow = await this.deps.flows.findByToken(hashToken(token));
    if (!flow || !this.usable(flow)) throw flowRequired();
    if (!flow.completedAt && flow.expired) throw flowExpired();
    return this.view(flow);
  }

  /**
   * Auto-save with optimistic locking: the sections given replace the stored ones at the version
   * the caller last saw; a stale version answers 409 with the stored flow. A password is hashed the
   * moment it arrives. Concurrent saves are group-committed, as onboarding drafts are.
   */
  async save(token: string, input: FlowPatch & { version: number }): Promise<FlowView> {
    const { version, ...patch } = input;
    if (Object.keys(patch).length === 0) return this.unchanged(token, version);
    const errors = sectionErrors(patch, this.plans);
    if (errors.length > 0) {
      throw invalidFields(errors);
    }
    const password = patch.profile?.password;
    const save: FlowSave = {
      tokenHash: hashToken(token),
      version,
      sections: storedSections(patch),
      passwordHash: password === undefined ? null : await hashPassword(password),
      lifetime: this.lifetime,
    };
    const batched = await this.saves.submit(save);
    // A row another transaction holds was skipped by the batch; this save waits for it alone.
    const saved = batched === 'locked' ? (await this.deps.flows.saveMany([save], { wait: true }))[0] : batched;
    if (saved && saved !== 'locked') return this.view(saved);
    return this.refuseSave(save.tokenHash);
  }

  /**
   * A save with no section: nothing is written and the version stays, so a client that sends one
   * (after a reload, say) does not make another device's next save a conflict. The flow as stored
   * when `version` is current; refused as any save is otherwise.
   */
  private async unchanged(token: string, version: number): Promise<FlowView> {
    const flow = await this.deps.flows.findByToken(hashToken(token));
    this.assertWritable(flow);
    if (flow.version === version) return this.view(flow);
    return this.refuseSave(hashToken(token));
  }

  /** Why a save was refused: no flow (401), completed (409), expired (410), or a stale version with the stored flow. */
  private async refuseSave(tokenHash: Buffer): Promise<never> {
    const flow = await this.deps.flows.findByToken(tokenHash);
    this.assertWritable(flow);
    throw new AppError('version_conflict', 'This sign-up was saved meanwhile (on another device or tab). Review it and save again on top of it.', {
      extra: { current: viewJson(this.view(flow)) },
    });
  }

  /**
   * Sets the address (and marketing consent) and emails a new 6-digit code, through a job added in
   * the same transaction. A changed address loses its verification; the same verified address only
   * updates the consent. Codes go out to the same address at most once per RESEND_COOLDOWN_SECONDS;
   * a changed address (a typo fixed) gets its code at once, up to MAX_ADDRESS_CHANGES_PER_COOLDOWN
   * times per flow in that window, on top of the routes' per-IP limit.
   */
  async setEmail(token: string, input: { email: string; marketingConsent?: boolean; consentTextVersion?: string }): Promise<FlowView> {
    const email = normalizeEmail(input.email);
    const consent = input.marketingConsent === undefined ? undefined : { granted: input.marketingConsent, textVersion: input.consentTextVersion ?? this.deps.config.signup.consentTextVersion };
    const flow = await this.deps.db.transaction().execute(async (trx) => {
      const current = await this.lockWritable(trx, token);
      const flows = this.deps.flows.withTx(trx);
      const alreadyVerified = current.emailVerifiedAt !== null && current.email === email;
      if (current.email === email) {
        if (!alreadyVerified) this.assertCooldown(current);
      } else {
        await this.limitAddressChanges(current);
      }
      const updated = await flows.setEmail(current.id, { email, consent }, this.lifetime);
      if (alreadyVerified) return updated;
      await this.sendCode(trx, updated, 'verify_email');
      return (await flows.findById(current.id))!;
    });
    return this.view(flow);
  }

  /**
   * Checks the emailed code. Right: the address is verified (409 `email_taken` when it already has
   * an account: the person just proved they own the mailbox, so this tells a stranger nothing).
   * Wrong: 400 with attemptsLeft; after five wrong tries 429 until a new code is asked for; an
   * expired code 410. Rate-limited per address as well as per IP (the route).
   */
  async verifyEmail(token: string, code: string): Promise<FlowView> {
    const known = await this.deps.flows.findByToken(hashToken(token));
    if (known?.email) await this.limitPerAddress(known.email);
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const flow = await this.lockWritable(trx, token);
      const checked = await this.checkCode(trx, flow, 'verify_email', code);
      if (!checked.ok) return checked;
      return { ok: true as const, flow: await this.deps.flows.withTx(trx).consumeCode(flow.id, true, this.lifetime) };
    });
    if (!outcome.ok) throw outcome.error;
    if (await this.deps.accounts.findByEmail(outcome.flow.email!)) {
      const taken = emailTaken();
      throw new AppError('email_taken', 'An account with this email address already exists. Sign in instead (or reset your password).', {
        ...taken.options,
        extra: { signIn: '/v1/sessions' },
      });
    }
    return this.view(outcome.flow);
  }

  /**
   * Another device asks to resume: if an open flow has this verified address, a resume code is
   * emailed to it. Always answers the same, so it reveals nothing about the address.
   */
  async requestResume(rawEmail: string): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.limitPerAddress(email);
    await this.deps.db.transaction().execute(async (trx) => {
      const flow = await this.deps.flows.withTx(trx).lockOpenByVerifiedEmail(email);
      if (!flow || this.cooldownLeft(flow) > 0) return;
      await this.sendCode(trx, flow, 'resume');
    });
  }

  /** Checks a resume code (same rules as the email code) and binds a new cookie on this device to the flow. */
  async verifyResume(rawEmail: string, code: string): Promise<{ flow: FlowView; cookie: IssuedFlowCookie }> {
    const email = normalizeEmail(rawEmail);
    await this.limitPerAddress(email);
    const { token, hash } = mintToken();
    const outcome = await this.deps.db.transaction().execute(async (trx): Promise<CodeCheck> => {
      const flow = await this.deps.flows.withTx(trx).lockOpenByVerifiedEmail(email);
      if (!flow) return { ok: false, error: invalidCode(undefined) };
      const checked = await this.checkCode(trx, flow, 'resume', code);
      if (!checked.ok) return checked;
      const flows = this.deps.flows.withTx(trx);
      await flows.insertToken(flow.id, hash);
      return { ok: true, flow: await flows.consumeCode(flow.id, false, this.lifetime) };
    });
    if (!outcome.ok) throw outcome.error;
    this.remember(hash, outcome.flow.id);
    return { flow: this.view(outcome.flow), cookie: { token, expiresAt: outcome.flow.expiresAt } };
  }

  /** Discards the flow: its personal data is purged at once and it never becomes a lead. */
  async discard(token: string): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const flow = await this.lockWritable(trx, token, { allowExpired: true });
      await this.deps.flows.withTx(trx).discard(flow.id);
    });
  }

  /**
   * Records the payment method of a paid plan: validated through the gateway (it exists, it is a
   * card), kept as its id with brand, last 4 and expiry for display. The card is attached to a
   * customer only at completion, by the billing saga.
   */
  async setPaymentMethod(token: string, paymentMethodId: string): Promise<FlowView> {
    const billing = this.deps.billing;
    if (!billing) throw new AppError('not_found', 'Payments are not set up on this service.');
    const card = await billing.describeCard(paymentMethodId);
    return this.deps.db.transaction().execute(async (trx) => {
      const flow = await this.lockWritable(trx, token);
      const plan = this.plans.find((p) => p.id === flow.data.plan?.id);
      if (!plan?.requiresPaymentMethod) {
        throw new AppError('validation_failed', 'Choose a plan that takes a payment method first.', { fields: [{ field: 'paymentMethodId', message: 'the chosen plan takes no payment method' }] });
      }
      const updated = await this.deps.flows.withTx(trx).setSection(flow.id, 'paymentMethod', { ...card }, this.lifetime);
      if (!updated) throw flowExpired();
      return this.view(updated);
    });
  }

  /**
   * Completes a paid plan's flow through the billing saga (gateway customer, card, subscription,
   * then this sign-up's completion as its pivot, in one transaction) and opens a session. A declined
   * card answers 402 and is taken off the flow, which is back at its payment step; 3-D Secure answers 409 with the client
   * secret, and completing again continues the same saga.
   */
  private async completePaid(tokenHash: Buffer, flow: TokenFlowRow, planId: string): Promise<CompletedSignup & { session: IssuedSession; replayed: boolean }> {
    const card = flow.data.paymentMethod as unknown as PaymentMethodOnFile;
    const paid = await this.deps.billing!.completeSignup<CompletedSignup>({
      flowId: flow.id,
      planId,
      paymentMethodId: card.id,
      email: flow.email!,
      name: flow.data.company!.name,
      context: { completingTokenHash: tokenHash.toString('hex') },
    }).catch(async (error: unknown) => {
      // A refused card is of no more use: the flow goes back to its payment step for another one.
      if (error instanceof AppError && error.code === 'card_declined') await this.deps.flows.removeCard(flow.id, card.id);
      throw error;
    });
    return this.deps.db.transaction().execute(async (trx) => {
      const completed = await this.deps.flows.withTx(trx).findById(flow.id);
      const became = completed ? await this.deps.completion.became(trx, completed) : undefined;
      const done = became ?? paid.result;
      return { ...done, session: await this.deps.sessions.open(trx, done.account.id), replayed: false };
    });
  }

  /**
   * Completes the flow in ONE transaction (see SignupCompletion.commit) and opens a session. A
   * repeat through the cookie that completed it (a double click, a retry after a lost answer)
   * answers the same account and workspace with a new session; concurrent completes wait on the
   * flow's row lock, so there is only ever one account.
   */
  async complete(token: string): Promise<CompletedSignup & { session: IssuedSession; replayed: boolean }> {
    const tokenHash = hashToken(token);
    const unlocked = await this.deps.flows.findByToken(tokenHash);
    const paidPlan = this.plans.find((p) => p.id === unlocked?.data.plan?.id && p.requiresPaymentMethod);
    if (unlocked && !unlocked.completedAt && paidPlan && this.deps.billing && this.usable(unlocked)) {
      if (unlocked.expired || unlocked.discardedAt || unlocked.purgedAt) throw flowExpired();
      const progress = flowProgress(unlocked, this.plans);
      if (progress.missingFields.length > 0 || progress.unverifiedFields.length > 0) throw signupIncomplete(progress);
      return this.completePaid(tokenHash, unlocked, paidPlan.id);
    }
    return this.deps.db.transaction().execute(async (trx) => {
      const flow = await this.deps.flows.withTx(trx).findByToken(tokenHash, { lock: true });
      if (!flow || !this.usable(flow)) throw flowRequired();
      if (flow.completedAt) {
        const became = await this.deps.completion.became(trx, flow);
        if (!became) throw flowCompleted();
        return { ...became, session: await this.deps.sessions.open(trx, became.account.id), replayed: true };
      }
      if (flow.expired || flow.discardedAt || flow.purgedAt) throw flowExpired();
      const progress = flowProgress(flow, this.plans);
      if (progress.missingFields.length > 0 || progress.unverifiedFields.length > 0) throw signupIncomplete(progress);
      const done = await this.deps.completion.commit(trx, flow, { completingTokenHash: tokenHash });
      return { ...done, session: await this.deps.sessions.open(trx, done.account.id), replayed: false };
    });
  }

  /** Whether a cookie may still read its flow: live, or the one that completed it, briefly. */
  private usable(flow: TokenFlowRow): boolean {
    if (!flow.tokenRevokedAt) return true;
    return Date.now() - flow.tokenRevokedAt.getTime() < COMPLETION_REPLAY_SECONDS * 1000;
  }

  /** Locks the flow behind a cookie for a write: 401 without one, 409 completed, 410 expired. */
  private async lockWritable(trx: Tx, token: string, options: { allowExpired?: boolean } = {}): Promise<TokenFlowRow> {
    const flow = await this.deps.flows.withTx(trx).findByToken(hashToken(token), { lock: true });
    this.assertWritable(flow, options);
    return flow;
  }

  private assertWritable(flow: TokenFlowRow | undefined, options: { allowExpired?: boolean } = {}): asserts flow is TokenFlowRow {
    if (!flow || flow.discardedAt || flow.purgedAt) throw flowRequired();
    if (flow.completedAt || flow.tokenRevokedAt) throw flowCompleted();
    if (flow.expired && !options.allowExpired) throw flowExpired();
  }

  /** Stores a new code (replacing the old one) and queues its email in `trx`. */
  private async sendCode(trx: Tx, flow: FlowRow, kind: SignupCodeKind): Promise<void> {
    const expiresAt = new Date(Date.now() + this.deps.config.signup.codeTtlSeconds * 1000);
    const codeNumber = await this.deps.flows.withTx(trx).storeCode(flow.id, (number) => ({ kind, hash: signupCode(this.deps.tokens, flow.id, number).hash, expiresAt }));
    await enqueueJob(trx, 'send_signup_code', { flowId: flow.id, codeNumber }, { jobKey: `signup-code:${flow.id}` });
  }

  /** Seconds until another code may go out: only a live (unused) code holds the next one back. */
  private cooldownLeft(flow: FlowRow): number {
    if (!flow.codeSentAt || !flow.codeHash) return 0;
    return this.deps.config.resendCooldownSeconds - (Date.now() - flow.codeSentAt.getTime()) / 1000;
  }

  private assertCooldown(flow: FlowRow): void {
    const left = this.cooldownLeft(flow);
    if (left > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(left));
      throw new AppError('resend_too_soon', `A code was sent moments ago. Check your inbox, or try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
  }

  /** A code to a changed address skips the cooldown, but only a few times per flow per cooldown window. */
  private async limitAddressChanges(flow: FlowRow): Promise<void> {
    if (this.cooldownLeft(flow) <= 0) return;
    const { hits, ttlMs } = await this.deps.rateLimits.hit(`signup-code-flow|${flow.id}`, this.deps.config.resendCooldownSeconds * 1000);
    if (hits > MAX_ADDRESS_CHANGES_PER_COOLDOWN) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError('resend_too_soon', `This sign-up's address was changed ${MAX_ADDRESS_CHANGES_PER_COOLDOWN} times moments ago. Check it, or try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
  }

  /**
   * Checks a code of `kind` against the flow's current one, in constant time. A wrong code counts
   * an attempt (committed with `trx`, though the caller answers an error).
   */
  private async checkCode(trx: Tx, flow: FlowRow, kind: SignupCodeKind, code: string): Promise<CodeCheck> {
    if (flow.codeKind !== kind || !flow.codeHash || !flow.codeExpiresAt) return { ok: false, error: invalidCode(undefined) };
    if (flow.codeAttempts >= MAX_CODE_ATTEMPTS) {
      return { ok: false, error: new AppError('too_many_attempts', 'Too many wrong codes: this code no longer works. Ask for a new one.') };
    }
    if (flow.codeExpiresAt.getTime() <= Date.now()) return { ok: false, error: new AppError('code_expired', 'This code has expired. Ask for a new one.') };
    if (!timingSafeEqual(hashToken(code), flow.codeHash)) {
      const attempts = await this.deps.flows.withTx(trx).countWrongCode(flow.id);
      return { ok: false, error: invalidCode(Math.max(0, MAX_CODE_ATTEMPTS - attempts)) };
    }
    return { ok: true, flow };
  }

  /** Code checks and resume requests per address, on top of the per-IP limit of the routes. */
  private async limitPerAddress(email: string): Promise<void> {
    const { hits, ttlMs } = await this.deps.rateLimits.hit(`signup-code-address|${email}`, 60_000);
    if (hits > this.deps.config.rateLimits.signupCodesPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError('rate_limited', `Too many requests. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
  }

  private remember(tokenHash: Buffer, flowId: string): void {
    if (this.flowIds.size >= MAX_CACHED_TOKENS) this.flowIds.delete(this.flowIds.keys().next().value!);
    this.flowIds.set(tokenHash.toString('hex'), flowId);
  }

  /** The flow as its frontend sees it. */
  view(flow: FlowRow): FlowView {
    const progress = flowProgress(flow, this.plans);
    const { profile, company, address, plan } = flow.data;
    return {
      id: flow.id,
      status: flow.completedAt ? 'completed' : flow.expired ? 'expired' : 'in_progress',
      currentStep: flow.completedAt ? null : progress.currentStep,
      steps: progress.steps,
      requiredFields: progress.requiredFields,
      missingFields: progress.missingFields,
      unverifiedFields: progress.unverifiedFields,
      email: flow.email,
      emailVerified: flow.emailVerifiedAt !== null,
      data: { profile: profile ?? null, company: company ?? null, address: address ?? null, plan: plan ?? null, paymentMethod: (flow.data.paymentMethod as PaymentMethodOnFile | undefined) ?? null },
      marketingConsent: { granted: flow.marketingConsent, textVersion: flow.consentTextVersion, at: flow.consentAt },
      version: flow.version,
      expiresAt: flow.expiresAt,
    };
  }
}

function invalidCode(attemptsLeft: number | undefined): AppError {
  return new AppError('invalid_code', 'This code is not right. Check the latest email we sent, or ask for a new code.', {
    fields: [{ field: 'code', message: 'is not right' }],
    ...(attemptsLeft === undefined ? {} : { extra: { attemptsLeft } }),
  });
}

/** A flow view as JSON (times as ISO text), for problem documents that carry it. */
export function viewJson(view: FlowView) {
  return {
    ...view,
    marketingConsent: { ...view.marketingConsent, at: view.marketingConsent.at?.toISOString() ?? null },
    expiresAt: view.expiresAt.toISOString(),
  };
}
