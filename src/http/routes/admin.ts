import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { invalidFields } from '../../errors.js';
import type { Actor } from '../../repositories/audit-repository.js';
import type { AuditEventRow, WorkspaceFilter } from '../../repositories/admin-repository.js';
import type { BillingRow } from '../../repositories/billing/billing-repository.js';
import { orderedRange, type AdminWorkspaceView, type Page } from '../../services/admin-service.js';
import { parseTimestamp } from '../../services/opaque-input.js';
import { lineProblem } from '../ajv-keywords.js';
import { invitationJson, iso, memberJson } from '../presenters.js';
import { DateTime, IdempotencyKey, Invitation, Member, Nullable, NullableDateTime, problems, SingleLine, Uuid } from '../schemas/common.js';
import * as examples from '../schemas/examples.js';
import type { App, RouteDeps } from '../types.js';

const security = [{ adminToken: [] }];
const Reason = SingleLine(1, 500, 'Why: kept in the audit log.');
/** Page size and cursor of every keyset-paginated admin list. */
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 25 });
export const Cursor = Type.String({ minLength: 1, maxLength: 500, description: 'nextCursor of the previous page' });

const AdminWorkspace = Type.Object({
  id: Uuid,
  name: Type.String(),
  plan: Type.String(),
  status: Type.String(),
  createdAt: DateTime,
  trialEndsAt: NullableDateTime,
  trialDaysLeft: Nullable(Type.Integer()),
  trialState: Type.String(),
  owner: Nullable(Type.Object({ accountId: Uuid, email: Type.String(), name: Type.String(), emailVerified: Type.Boolean() })),
  memberCount: Type.Integer(),
  pendingInvitations: Type.Integer(),
  onboarding: Type.Object({ status: Type.String(), completedSteps: Type.Array(Type.String()), completedAt: NullableDateTime }),
  initializedAt: NullableDateTime,
  subscriptionStatus: Nullable(Type.String()),
}, { title: 'AdminWorkspace', examples: [examples.adminWorkspace] });

const SubscriptionStatusFilter = Type.Enum(['trialing', 'active', 'past_due', 'canceled', 'none'], {
  type: 'string',
  description: "the current subscription's status; none: never subscribed",
});

/** A workspace's billing in the back office: the gateway ids an operator looks up, never card data. */
const AdminBilling = Type.Object({
  gateway: Nullable(Type.String()),
  customerId: Nullable(Type.String()),
  subscription: Nullable(Type.Object({
      id: Type.String(),
      plan: Type.String(),
      status: Type.String(),
      trialEnd: NullableDateTime,
      currentPeriodEnd: NullableDateTime,
      cancelAtPeriodEnd: Type.Boolean(),
      canceledAt: NullableDateTime,
    })),
  paymentMethod: Nullable(Type.Object({ id: Type.String(), brand: Type.String(), last4: Type.String(), expMonth: Type.Integer(), expYear: Type.Integer() })),
});

function adminBillingJson(billing: BillingRow) {
  const sub = billing.subscription;
  return {
    gateway: billing.gateway,
    customerId: billing.customerId,
    subscription: sub
      ? { id: sub.gatewayId, plan: sub.plan, status: sub.status, trialEnd: iso(sub.trialEnd), currentPeriodEnd: iso(sub.currentPeriodEnd), cancelAtPeriodEnd: sub.cancelAtPeriodEnd, canceledAt: iso(sub.canceledAt) }
      : null,
    paymentMethod: billing.card ? { id: billing.card.gatewayId, brand: billing.card.brand, last4: billing.card.last4, expMonth: billing.card.expMonth, expYear: billing.card.expYear } : null,
  };
}

const AuditEvent = Type.Object({
  id: Uuid,
  occurredAt: DateTime,
  actorType: Type.String(),
  actorId: Nullable(Type.String()),
  action: Type.String(),
  workspaceId: Nullable(Uuid),
  accountId: Nullable(Uuid),
  data: Type.Record(Type.String(), Type.Unknown()),
}, { title: 'AuditEvent', examples: [examples.auditEvent] });

/**
 * The workspace list's filters. `plan` must be one of the configured plans (PLANS), so a typo is a 400
 * naming them rather than an empty list; checked by AdminService.checkPlanFilter, not as a schema enum, so
 * the typed client generated here keeps `plan: string` for deployments with other plans.
 */
const WorkspaceFilters = Type.Object({
  trialState: Type.Optional(Type.Enum(['pending_verification', 'active', 'ending_soon', 'expired'])),
  plan: Type.Optional(Type.String({ maxLength: 100, description: 'a plan id from PLANS; another answers 400 listing them' })),
  status: Type.Optional(Type.Enum(['active', 'closed'])),
  onboarding: Type.Optional(Type.Enum(['in_progress', 'completed'])),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'substring of the workspace name or the owner email' })),
  createdFrom: Type.Optional(DateTime),
  createdTo: Type.Optional(DateTime),
  subscriptionStatus: Type.Optional(SubscriptionStatusFilter),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
});

function adminWorkspaceJson(w: AdminWorkspaceView) {
  return {
    ...w,
    createdAt: iso(w.createdAt),
    trialEndsAt: iso(w.trialEndsAt),
    initializedAt: iso(w.initializedAt),
    onboarding: { ...w.onboarding, completedAt: iso(w.onboarding.completedAt) },
  };
}

function auditEventJson(e: AuditEventRow) {
  const { keysetAt: _keyset, ...event } = e;
  return { ...event, occurredAt: iso(e.occurredAt) };
}

export const CSV_COLUMNS: [string, (w: AdminWorkspaceView) => unknown][] = [
  ['id', (w) => w.id],
  ['name', (w) => w.name],
  ['plan', (w) => w.plan],
  ['status', (w) => w.status],
  ['created_at', (w) => iso(w.createdAt)],
  ['trial_state', (w) => w.trialState],
  ['trial_ends_at', (w) => iso(w.trialEndsAt)],
  ['trial_days_left', (w) => w.trialDaysLeft],
  ['owner_email', (w) => w.owner?.email],
  ['owner_name', (w) => w.owner?.name],
  ['owner_verified', (w) => w.owner?.emailVerified],
  ['member_count', (w) => w.memberCount],
  ['pending_invitations', (w) => w.pendingInvitations],
  ['onboarding_status', (w) => w.onboarding.status],
  ['completed_steps', (w) => w.onboarding.completedSteps.join(' ')],
  ['onboarding_completed_at', (w) => iso(w.onboarding.completedAt)],
  ['initialized_at', (w) => iso(w.initializedAt)],
  ['subscription_status', (w) => w.subscriptionStatus],
];

/** RFC 4180 quoting; a leading =, +, - or @ is defused so spreadsheets do not run it as a formula. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV document, header first, one line per row as it arrives. */
async function* csvLines<T>(columns: [string, (row: T) => unknown][], rows: AsyncIterable<T>): AsyncGenerator<string> {
  yield `${columns.map(([name]) => name).join(',')}\r\n`;
  for await (const row of rows) yield `${columns.map(([, get]) => csvField(get(row))).join(',')}\r\n`;
}

/** Whether the client asked for CSV (`Accept: text/csv`) rather than a JSON page. */
function wantsCsv(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/csv');
}

/** Streams every row as a CSV attachment; a stream bypasses the JSON response schema, rows are fetched page by page. */
export function sendCsv<T>(reply: FastifyReply, filename: string, columns: [string, (row: T) => unknown][], rows: AsyncIterable<T>): FastifyReply {
  reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`);
  return reply.send(Readable.from(csvLines(columns, rows)) as never);
}

/** Where a keyset-paginated admin list reads its rows: a JSON page, or every match for CSV. */
export interface KeysetListSource<F, R, J> {
  page(filter: F, page: { limit: number; cursor?: string }): Promise<Page<R>>;
  all(filter: F): AsyncIterable<R>;
  json(row: R): J;
  csv: { filename: string; columns: [string, (row: R) => unknown][] };
}

/**
 * The answer of every keyset-paginated admin list: a page of `limit` rows (25 unless asked) with the
 * cursor of the next one, or with `Accept: text/csv` every match streamed as CSV.
 */
export async function keysetList<F, R, J>(
  request: FastifyRequest & { query: { limit?: number; cursor?: string } },
  reply: FastifyReply,
  filter: F,
  source: KeysetListSource<F, R, J>,
): Promise<FastifyReply | Page<J>> {
  if (wantsCsv(request)) return sendCsv(reply, source.csv.filename, source.csv.columns, source.all(filter));
  const page = await source.page(filter, { limit: request.query.limit ?? 25, cursor: request.query.cursor });
  return { items: page.items.map((row) => source.json(row)), nextCursor: page.nextCursor };
}

/**
 * Who acted: admins share one token, so an `X-Admin-Actor` header (a name or email) says who, for the
 * audit log; 'admin' without one. Node reads header bytes as Latin-1, so a name sent as UTF-8 (as
 * curl and browsers send it) is decoded back; it must then be one line of visible text (lineProblem),
 * else a 400 on the header. Every admin route that records an actor goes through here.
 */
export function adminActor(request: FastifyRequest): Actor {
  const raw = request.headers['x-admin-actor'];
  const named = typeof raw === 'string' ? fromHeaderBytes(raw).trim() : '';
  if (!named) return { type: 'admin', id: 'admin' };
  const problem = named.length > 100 ? 'must be at most 100 characters long' : lineProblem(named);
  if (problem) throw invalidFields([{ field: 'headers.x-admin-actor', message: problem }]);
  return { type: 'admin', id: named };
}

/** A header value as UTF-8 when its bytes are UTF-8, else as the Latin-1 Node read. */
function fromHeaderBytes(value: string): string {
  const utf8 = Buffer.from(value, 'latin1').toString('utf8');
  return utf8.includes('\uFFFD') ? value : utf8;
}

const AdminActorHeaders = Type.Object({ 'x-admin-actor': Type.Optional(Type.String({ maxLength: 400, description: 'Who acted (a name or email, UTF-8), for the audit log: one line of visible text, at most 100 characters.' })) });
/** An admin action's headers: who acted, and a key that makes a retry (or a double submit) act once. */
const AdminActionHeaders = Type.Object({ ...AdminActorHeaders.properties, 'idempotency-key': Type.Optional(IdempotencyKey) });
const IDEMPOTENT = ' Send an `Idempotency-Key` header to make retries safe: the same key and body within 24 hours act once and answer with the workspace as it is; the same key with another body is 422 idempotency_key_reused.';

/** A date-time the schema already checked, decoded by the same function that checked it. */
export const toDate = (value: string | undefined) => (value ? parseTimestamp(value) : undefined);

/** The back office, behind the admin bearer token (a session cookie never works here). */
export async function adminRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.addHook('preHandler', guards.requireAdmin);
  const workspaceList: KeysetListSource<WorkspaceFilter, AdminWorkspaceView, ReturnType<typeof adminWorkspaceJson>> = {
    page: (filter, page) => services.admin.listWorkspaces(filter, page),
    all: (filter) => services.admin.allWorkspaces(filter),
    json: adminWorkspaceJson,
    csv: { filename: 'workspaces.csv', columns: CSV_COLUMNS },
  };

  app.get(
    '/v1/admin/workspaces',
    {
      schema: {
        operationId: 'listAdminWorkspaces',
        tags: ['admin'],
        summary: 'Workspaces with filters and cursor pagination; Accept: text/csv streams every match as CSV',
        description:
          'JSON pages of up to `limit` workspaces, newest first; pass `nextCursor` as `cursor` for the next page. ' +
          'With `Accept: text/csv` the answer is instead a CSV file (RFC 4180, header row, `Content-Disposition: attachment`) of every matching workspace, streamed; ' +
          'cells starting with = + - @ are prefixed with a quote so spreadsheets do not run them.',
        security,
        querystring: WorkspaceFilters,
        response: {
          200: {
            description: 'A page of workspaces as JSON, or every match as CSV (Accept: text/csv).',
            content: {
              'application/json': {
                schema: Type.Object(
                  { items: Type.Array(AdminWorkspace), nextCursor: Nullable(Type.String()) },
                  { examples: [{ items: [examples.adminWorkspace], nextCursor: 'eyJjIjoiMjAyNi0xMS0yOVQxMDowMDowMC4wMDBaIn0' }] },
                ),
              },
              'text/csv': {
                schema: Type.String({
                  description: `Columns: ${CSV_COLUMNS.map(([name]) => name).join(', ')}.`,
                  examples: [`${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n${examples.workspaceId},Acme,trial,active,2026-11-29T10:00:00.000Z,active,2026-12-13T10:00:00.000Z,14,ada@example.com,Ada,true,2,1,in_progress,profile_complete,,2026-11-29T10:00:02.000Z\r\n`],
                }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { limit: _limit, cursor: _cursor, createdFrom, createdTo, ...rest } = request.query;
      await services.admin.checkPlanFilter(rest.plan);
      const created = orderedRange({ from: toDate(createdFrom), to: toDate(createdTo) }, { from: 'createdFrom', to: 'createdTo' });
      return keysetList(request, reply, { ...rest, createdFrom: created.from, createdTo: created.to }, workspaceList);
    },
  );

  app.get(
    '/v1/admin/workspaces/:id',
    {
      schema: {
        operationId: 'getAdminWorkspace',
        tags: ['admin'],
        summary: 'A workspace with members, pending invitations, onboarding progress and audit events (newest first)',
        description: 'Everything support needs about one workspace on one page.',
        security,
        params: Type.Object({ id: Uuid }),
        response: {
          200: Type.Object({
            workspace: AdminWorkspace,
            members: Type.Array(Member),
            pendingInvitations: Type.Array(Invitation),
            onboarding: Type.Record(Type.String(), Type.Unknown()),
            auditEvents: Type.Array(AuditEvent),
            billing: AdminBilling,
          }, {
            examples: [{
              workspace: examples.adminWorkspace,
              members: [examples.member],
              pendingInvitations: [examples.invitation],
              onboarding: { ...examples.onboarding, workspaceId: examples.workspaceId },
              auditEvents: [examples.auditEvent],
            }],
          }),
          ...problems(404),
        },
      },
    },
    async (request) => {
      const detail = await services.admin.workspaceDetail(request.params.id);
      return {
        workspace: adminWorkspaceJson(detail.workspace),
        members: detail.members.map(memberJson),
        pendingInvitations: detail.pendingInvitations.map(invitationJson),
        onboarding: {
          ...detail.onboarding,
          completedAt: iso(detail.onboarding.completedAt),
          updatedAt: iso(detail.onboarding.updatedAt),
        },
        auditEvents: detail.auditEvents.map(auditEventJson),
        billing: adminBillingJson(detail.billing),
      };
    },
  );

  app.post(
    '/v1/admin/workspaces/:id/trial',
    {
      schema: {
        operationId: 'changeTrial',
        tags: ['admin'],
        summary: 'Extend the trial by days, or set its end; 409 trial_not_started before verification',
        description: 'Send `extendDays` or `trialEndsAt`, and a `reason` for the audit log; `X-Admin-Actor` names who acted.' + IDEMPOTENT,
        security,
        params: Type.Object({ id: Uuid }),
        headers: AdminActionHeaders,
        body: Type.Object(
          { extendDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })), trialEndsAt: Type.Optional(DateTime), reason: Reason },
          { additionalProperties: false, examples: [{ extendDays: 7, reason: 'Asked for more time to evaluate.' }] },
        ),
        response: { 200: AdminWorkspace, ...problems(404, 409, 422) },
      },
    },
    async (request) => {
      const { extendDays, trialEndsAt, reason } = request.body;
      const input = { extendDays, trialEndsAt: toDate(trialEndsAt), reason };
      const workspace = await services.admin.changeTrial(request.params.id, adminActor(request), input, request.headers['idempotency-key']);
      return adminWorkspaceJson(workspace);
    },
  );

  app.post(
    '/v1/admin/workspaces/:id/reopen',
    {
      schema: {
        operationId: 'reopenWorkspace',
        tags: ['admin'],
        summary: 'Reopen a closed workspace',
        description: '409 workspace_not_closed when it is open; the reason goes to the audit log.' + IDEMPOTENT,
        security,
        params: Type.Object({ id: Uuid }),
        headers: AdminActionHeaders,
        body: Type.Object({ reason: Reason }, { additionalProperties: false, examples: [{ reason: 'Closed by mistake.' }] }),
        response: { 200: AdminWorkspace, ...problems(404, 409, 422) },
      },
    },
    async (request) => adminWorkspaceJson(await services.admin.reopen(request.params.id, adminActor(request), request.body.reason, request.headers['idempotency-key'])),
  );

  app.get(
    '/v1/admin/stats',
    {
      schema: {
        operationId: 'getAdminStats',
        tags: ['admin'],
        summary: 'Counts by trial state, plan, status and onboarding; registrations and verifications per day (30 days)',
        description: 'The dashboard numbers, computed on request.',
        security,
        response: {
          200: Type.Object({
            byTrialState: Type.Record(Type.String(), Type.Integer()),
            byPlan: Type.Record(Type.String(), Type.Integer()),
            byStatus: Type.Record(Type.String(), Type.Integer()),
            byOnboarding: Type.Record(Type.String(), Type.Integer()),
            daily: Type.Array(Type.Object({ day: Type.String(), registrations: Type.Integer(), verifications: Type.Integer() })),
          }, {
            examples: [{
              byTrialState: { pending_verification: 3, active: 12, expired: 4 },
              byPlan: { trial: 19 },
              byStatus: { active: 18, closed: 1 },
              byOnboarding: { in_progress: 11, completed: 8 },
              daily: [{ day: '2026-11-29', registrations: 5, verifications: 4 }],
            }],
          }),
        },
      },
    },
    async () => services.admin.stats(),
  );

  app.get(
    '/v1/admin/audit-events',
    {
      schema: {
        operationId: 'listAuditEvents',
        tags: ['admin'],
        summary: 'The audit log, newest first, with filters and cursor pagination',
        description: 'Every state change with who made it; pass `nextCursor` as `cursor` for the next page.',
        security,
        querystring: Type.Object({
          workspaceId: Type.Optional(Uuid),
          accountId: Type.Optional(Uuid),
          action: Type.Optional(Type.String({ maxLength: 100 })),
          actorType: Type.Optional(Type.Enum(['account', 'admin', 'system'])),
          from: Type.Optional(DateTime),
          to: Type.Optional(DateTime),
          limit: Type.Optional(Limit),
          cursor: Type.Optional(Cursor),
        }),
        response: {
          200: Type.Object(
            { items: Type.Array(AuditEvent), nextCursor: Nullable(Type.String()) },
            { examples: [{ items: [examples.auditEvent], nextCursor: null }] },
          ),
        },
      },
    },
    async (request) => {
      const { limit = 25, cursor, from, to, ...rest } = request.query;
      const page = await services.admin.auditEvents({ ...rest, ...orderedRange({ from: toDate(from), to: toDate(to) }) }, { limit, cursor });
      return { items: page.items.map(auditEventJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/admin/onboarding/funnel',
    {
      schema: {
        operationId: 'getOnboardingFunnel',
        tags: ['admin'],
        summary: 'Onboarding drop-off funnel for workspaces created in [from, to) (default: last 30 days)',
        description: 'How many workspaces registered, had a verified owner, did each step and completed.',
        security,
        querystring: Type.Object({ from: Type.Optional(DateTime), to: Type.Optional(DateTime) }),
        response: {
          200: Type.Object({
            from: DateTime,
            to: DateTime,
            registered: Type.Integer(),
            ownerVerified: Type.Integer(),
            steps: Type.Record(Type.String(), Type.Integer()),
            completed: Type.Integer(),
          }, {
            examples: [{
              from: '2026-10-30T00:00:00.000Z',
              to: '2026-11-29T00:00:00.000Z',
              registered: 40,
              ownerVerified: 31,
              steps: { profile_complete: 28, first_integration: 19 },
              completed: 12,
            }],
          }),
        },
      },
    },
    async (request) => {
      const funnel = await services.admin.funnel({ from: toDate(request.query.from), to: toDate(request.query.to) });
      return { ...funnel, from: iso(funnel.from), to: iso(funnel.to) };
    },
  );
}

