import { Type } from 'typebox';
import type { LeadFilter, LeadRow } from '../../repositories/signup/signup-lead-repository.js';
import { orderedRange } from '../../services/admin-service.js';
import { iso } from '../presenters.js';
import { DateTime, Nullable, NullableDateTime, problems, Uuid } from '../schemas/common.js';
import type { App, RouteDeps } from '../types.js';
import { adminActor, Cursor, keysetList, Limit, toDate, type KeysetListSource } from './admin.js';

const tags = ['admin'];
const security = [{ adminToken: [] }];

const LEAD_EXAMPLE = {
  id: '5d1f0a3e-8c2b-4e6f-9a7d-2b4c6e8f0a1c',
  email: 'grace@example.com',
  emailVerified: true,
  firstName: 'Grace',
  lastName: 'Hopper',
  companyName: 'Compilers Inc',
  lastStep: 'company',
  startedAt: '2026-11-20T09:12:00.000Z',
  abandonedAt: '2026-11-20T09:31:00.000Z',
  marketingConsent: true,
  consentTextVersion: 'v1',
  consentAt: '2026-11-20T09:13:00.000Z',
  exportedAt: '2026-11-21T09:35:00.000Z',
};

const Lead = Type.Object({
  id: Uuid,
  email: Type.String(),
  emailVerified: Type.Boolean(),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  companyName: Nullable(Type.String()),
  lastStep: Nullable(Type.String()),
  startedAt: DateTime,
  abandonedAt: DateTime,
  marketingConsent: Type.Boolean(),
  consentTextVersion: Nullable(Type.String()),
  consentAt: NullableDateTime,
  exportedAt: DateTime,
});

function leadJson(lead: LeadRow) {
  const { keysetAt: _keyset, flowId: _flow, ...rest } = lead;
  return { ...rest, startedAt: iso(lead.startedAt), abandonedAt: iso(lead.abandonedAt), consentAt: iso(lead.consentAt), exportedAt: iso(lead.exportedAt) };
}

export const LEAD_CSV_COLUMNS: [string, (lead: LeadRow) => unknown][] = [
  ['id', (l) => l.id],
  ['email', (l) => l.email],
  ['email_verified', (l) => l.emailVerified],
  ['first_name', (l) => l.firstName],
  ['last_name', (l) => l.lastName],
  ['company_name', (l) => l.companyName],
  ['last_step', (l) => l.lastStep],
  ['started_at', (l) => iso(l.startedAt)],
  ['abandoned_at', (l) => iso(l.abandonedAt)],
  ['marketing_consent', (l) => l.marketingConsent],
  ['consent_text_version', (l) => l.consentTextVersion],
  ['consent_at', (l) => iso(l.consentAt)],
  ['exported_at', (l) => iso(l.exportedAt)],
];

/** Leads from abandoned sign-ups and the sign-up funnel, behind the admin bearer token. */
export async function signupAdminRoutes(app: App, { services, guards }: RouteDeps): Promise<void> {
  app.addHook('preHandler', guards.requireAdmin);
  const leadList: KeysetListSource<LeadFilter, LeadRow, ReturnType<typeof leadJson>> = {
    page: (filter, page) => services.signupLeads.list(filter, page),
    all: (filter) => services.signupLeads.all(filter),
    json: leadJson,
    csv: { filename: 'leads.csv', columns: LEAD_CSV_COLUMNS },
  };

  app.get(
    '/v1/admin/leads',
    {
      schema: {
        tags,
        operationId: 'listSignupLeads',
        summary: 'Leads from abandoned sign-ups with marketing consent, most recently abandoned first; Accept: text/csv streams every match',
        description: 'Filters: abandoned in [from, to), verified address or not. Pass nextCursor back as cursor for the next page. CSV cells that start with =, +, - or @ are defused.',
        security,
        querystring: Type.Object({
          from: Type.Optional(DateTime),
          to: Type.Optional(DateTime),
          verified: Type.Optional(Type.Boolean()),
          limit: Type.Optional(Limit),
          cursor: Type.Optional(Cursor),
        }),
        response: {
          200: Type.Object({ items: Type.Array(Lead), nextCursor: Nullable(Type.String()) }, { examples: [{ items: [LEAD_EXAMPLE], nextCursor: null }] }),
          ...problems(400, 401),
        },
      },
    },
    async (request, reply) => {
      const { from, to, verified } = request.query;
      return keysetList(request, reply, { ...orderedRange({ from: toDate(from), to: toDate(to) }), verified }, leadList);
    },
  );

  app.delete(
    '/v1/admin/leads/:id',
    {
      schema: {
        tags,
        operationId: 'eraseSignupLead',
        summary: "Erase a lead (a person's right to be forgotten)",
        description: 'Also purges what the abandoned sign-up it came from still holds of the person. Audited (with X-Admin-Actor) without personal data.',
        security,
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await services.signupLeads.erase(request.params.id, adminActor(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin/signup-flows/funnel',
    {
      schema: {
        tags,
        operationId: 'getSignupFunnel',
        summary: 'Staged sign-up funnel for flows started in [from, to) (default: last 30 days)',
        description: 'Flows started, how many reached each step (and completed), the conversion from the stage before, and how many were abandoned (expired or discarded) or are in progress. A flow counts at every step up to the furthest one it reached. `paymentMethod` is the step only paid plans have: it and `completed` convert from `plan`. Computed in SQL.',
        security,
        querystring: Type.Object({ from: Type.Optional(DateTime), to: Type.Optional(DateTime) }),
        response: {
          200: Type.Object({
            from: DateTime,
            to: DateTime,
            started: Type.Integer(),
            completed: Type.Integer(),
            abandoned: Type.Integer(),
            discarded: Type.Integer(),
            inProgress: Type.Integer(),
            steps: Type.Array(Type.Object({ step: Type.String(), reached: Type.Integer(), conversion: Nullable(Type.Number()) })),
          }, {
            examples: [{
              from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', started: 200, completed: 61, abandoned: 120, discarded: 9, inProgress: 19,
              steps: [
                { step: 'email', reached: 150, conversion: 0.75 },
                { step: 'profile', reached: 110, conversion: 0.7333 },
                { step: 'company', reached: 96, conversion: 0.8727 },
                { step: 'address', reached: 80, conversion: 0.8333 },
                { step: 'plan', reached: 72, conversion: 0.9 },
                { step: 'paymentMethod', reached: 20, conversion: 0.2778 },
                { step: 'completed', reached: 61, conversion: 0.8472 },
              ],
            }],
          }),
          ...problems(400, 401),
        },
      },
    },
    async (request) => {
      const funnel = await services.signupLeads.funnel({ from: toDate(request.query.from), to: toDate(request.query.to) });
      return { ...funnel, from: iso(funnel.from), to: iso(funnel.to) };
    },
  );
}
