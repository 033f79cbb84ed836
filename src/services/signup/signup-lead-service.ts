import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { Mailer } from '../../mail/mailer.js';
import type { EmailDeliveryRepository } from '../../repositories/email-delivery-repository.js';
import { signupCodeEmail } from '../../mail/signup-templates.js';
import type { Keyset } from '../../repositories/admin-repository.js';
import type { Actor, AuditRepository } from '../../repositories/audit-repository.js';
import type { SignupFlowRepository } from '../../repositories/signup/signup-flow-repository.js';
import type { LeadFilter, LeadRow, SignupFunnelRow, SignupLeadRepository } from '../../repositories/signup/signup-lead-repository.js';
import { keysetPage, reportRange, type Page } from '../admin-service.js';
import { sendOnce } from '../email-service.js';
import { drain } from '../session-service.js';
import type { TokenDeriver } from '../token-deriver.js';
import { FUNNEL_SIDE_STAGE, FUNNEL_STAGES, STEP_RANK } from './signup-fields.js';
import { signupCode } from './signup-flow-service.js';
import type { EventRecorder } from '../events/event-recorder.js';
import type { NewEvent } from '../events/catalogue.js';

const BATCH = 500;

/** What one cleanup run did. */
export interface CleanupResult {
  expired: number;
  leadsExported: number;
  purged: number;
}

/**
 * The staging area's background side: code emails, the cleanup that expires flows, exports leads
 * and purges personal data, and the admin's view of leads and the funnel.
 */
export class SignupLeadService {
  constructor(
    private readonly deps: {
      db: Db;
      flows: SignupFlowRepository;
      leads: SignupLeadRepository;
      audit: AuditRepository;
      mailer: Mailer;
      deliveries: EmailDeliveryRepository;
      tokens: TokenDeriver;
      events: EventRecorder;
      retentionDays: number;
    },
  ) {}

  /**
   * Emails code number `codeNumber` of a flow, derived again from the server secret, so a retried
   * job sends the same code; once the mail server accepted it, never again. A code replaced, used or
   * expired meanwhile is not sent.
   */
  async sendCode(flowId: string, codeNumber: number): Promise<boolean> {
    const flow = await this.deps.flows.findById(flowId);
    if (!flow?.email || !flow.codeHash || !flow.codeKind || !flow.codeExpiresAt || flow.codeNumber !== codeNumber) return false;
    if (flow.codeExpiresAt.getTime() <= Date.now() || flow.completedAt || flow.purgedAt) return false;
    const { code, hash } = signupCode(this.deps.tokens, flowId, codeNumber);
    if (!hash.equals(flow.codeHash)) return false;
    // A stable Message-ID per code: a retried job's resend is the same message, and none follows a recorded one.
    const message = signupCodeEmail({ to: flow.email, code, kind: flow.codeKind, expiresAt: flow.codeExpiresAt });
    return sendOnce(this.deps, `signup-code.${flowId}.${codeNumber}`, message);
  }

  /**
   * The crontab's cleanup: expires flows past their life, exports the expired ones with marketing
   * consent as leads (each once, also when two runs overlap), and purges personal data
   * SIGNUP_FLOW_RETENTION_DAYS after expiry or completion. Each step runs in batches.
   */
  async cleanup(): Promise<CleanupResult> {
    const expired = await drain(() => this.deps.flows.expireDue(BATCH), BATCH);
    const leadsExported = await drain(async () => (await this.exportLeads(BATCH)).length, BATCH);
    const purged = await drain(() => this.deps.flows.purgeDue(this.deps.retentionDays, BATCH), BATCH);
    return { expired, leadsExported, purged };
  }

  /**
   * The one place leads are exported: a batch of leads, their flows' marks and a `signup.abandoned`
   * event for each commit together, so a lead is exported, and announced, exactly once.
   */
  async exportLeads(limit: number): Promise<LeadRow[]> {
    return this.deps.db.transaction().execute(async (trx) => {
      const leads = await this.deps.leads.withTx(trx).exportDue(STEP_RANK, limit);
      if (leads.length > 0) await this.deps.events.record(trx, ...leads.map(abandonedEvent));
      return leads;
    });
  }

  /** One page of leads, most recently abandoned first. */
  list(filter: LeadFilter, page: { limit: number; cursor?: string }): Promise<Page<LeadRow>> {
    return keysetPage(page, (after, limit) => this.deps.leads.list(filter, after, limit));
  }

  /** Every lead matching the filter, page by page under the hood, for CSV export. */
  async *all(filter: LeadFilter): AsyncGenerator<LeadRow> {
    let after: Keyset | undefined;
    for (;;) {
      const rows = await this.deps.leads.list(filter, after, BATCH);
      yield* rows;
      if (rows.length < BATCH) return;
      const last = rows.at(-1)!;
      after = { at: last.keysetAt, id: last.id };
    }
  }

  /**
   * Erases a lead (a person's right to be forgotten) and, at once, what the flow it came from still
   * holds of them; the audit event keeps no personal data.
   */
  async erase(id: string, actor: Actor): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const erased = await this.deps.leads.withTx(trx).delete(id);
      if (!erased) throw new AppError('not_found', 'No lead with this id exists.');
      if (erased.flowId) await this.deps.flows.withTx(trx).purge(erased.flowId);
      await this.deps.audit.withTx(trx).insert({ actor, action: 'signup_lead.erased', data: { leadId: id } });
    });
  }

  /** The sign-up funnel of flows started in [from, to); defaults to the last 30 days. */
  async funnel(range: { from?: Date; to?: Date }): Promise<SignupFunnelRow & { from: Date; to: Date }> {
    const { from, to } = reportRange(range);
    return { from, to, ...(await this.deps.leads.funnel(from, to, FUNNEL_STAGES, FUNNEL_SIDE_STAGE)) };
  }
}

/** The outbox event of an exported lead: who, how far they got, and the consent that allows contact. */
function abandonedEvent(lead: LeadRow): NewEvent {
  return {
    type: 'signup.abandoned',
    workspaceId: null,
    data: {
      leadId: lead.id,
      email: lead.email,
      emailVerified: lead.emailVerified,
      firstName: lead.firstName,
      lastName: lead.lastName,
      companyName: lead.companyName,
      lastStep: lead.lastStep,
      startedAt: lead.startedAt.toISOString(),
      abandonedAt: lead.abandonedAt.toISOString(),
      consentTextVersion: lead.consentTextVersion,
    },
  };
}
