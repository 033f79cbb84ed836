import { sql } from 'kysely';
import t from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { flowApi, readyFlow, startFlow, verifiedFlow } from '../helpers/signup.js';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };
const admin = (ctx: TestContext, url: string, headers: Record<string, string> = {}) => ctx.app.inject({ method: 'GET', url, headers: { ...ADMIN, ...headers } });

/** Leads written straight into the table, abandoned `hoursAgo` hours ago. */
async function seedLeads(ctx: TestContext, leads: { email: string; verified: boolean; firstName?: string; hoursAgo: number }[]): Promise<void> {
  for (const lead of leads) {
    await sql`
      insert into signup_leads (email, email_verified, first_name, last_step, started_at, abandoned_at, marketing_consent, consent_text_version, consent_at)
      values (${lead.email}, ${lead.verified}, ${lead.firstName ?? null}, 'email', now() - interval '2 days',
              now() - make_interval(hours => ${lead.hoursAgo}), true, 'v1', now() - interval '2 days')`.execute(ctx.runtime.db);
  }
}

t.test('leads: admin token only, filters, keyset pages, invalid cursors', async (t) => {
  const ctx = await testContext(t);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/leads' })).statusCode, 401);
  await seedLeads(ctx, [
    { email: 'a@example.com', verified: true, hoursAgo: 1 },
    { email: 'b@example.com', verified: false, hoursAgo: 2 },
    { email: 'c@example.com', verified: true, hoursAgo: 3 },
    { email: 'd@example.com', verified: true, hoursAgo: 50 },
  ]);
  const emails: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { email: string }[]; nextCursor: string | null } = (await admin(ctx, `/v1/admin/leads?limit=1&verified=true${cursor ? `&cursor=${cursor}` : ''}`)).json();
    emails.push(...page.items.map((item) => item.email));
    cursor = page.nextCursor;
  } while (cursor);
  t.same(emails, ['a@example.com', 'c@example.com', 'd@example.com'], 'verified only, most recently abandoned first, every one once');
  const from = new Date(Date.now() - 24 * 3600_000).toISOString();
  t.same((await admin(ctx, `/v1/admin/leads?from=${from}`)).json().items.map((i: { email: string }) => i.email), ['a@example.com', 'b@example.com', 'c@example.com']);
  t.match((await admin(ctx, '/v1/admin/leads?verified=false')).json(), { items: [{ email: 'b@example.com', emailVerified: false, marketingConsent: true }], nextCursor: null });
  t.match((await admin(ctx, '/v1/admin/leads?cursor=bm9wZQ')).json(), { status: 400, code: 'invalid_cursor' });
});

t.test('leads as CSV: every match streamed, formulas defused', async (t) => {
  const ctx = await testContext(t);
  await seedLeads(ctx, [
    { email: 'x@example.com', verified: true, firstName: '=HYPERLINK("http://evil.example")', hoursAgo: 1 },
    ...Array.from({ length: 520 }, (_, i) => ({ email: `bulk-${i}@example.com`, verified: false, hoursAgo: 10 + i })),
  ]);
  const csv = await admin(ctx, '/v1/admin/leads', { accept: 'text/csv' });
  t.equal(csv.statusCode, 200);
  t.match(csv.headers['content-type'], /text\/csv/);
  const lines = csv.body.trim().split('\r\n');
  t.equal(lines[0], 'id,email,email_verified,first_name,last_name,company_name,last_step,started_at,abandoned_at,marketing_consent,consent_text_version,consent_at,exported_at');
  t.equal(lines.length, 522, 'header and every lead, across internal pages');
  t.match(lines[1], /"'=HYPERLINK\(""http:\/\/evil\.example""\)"/);
});

t.test('erasing a lead: 204, then 404; audited without personal data', async (t) => {
  const ctx = await testContext(t);
  await seedLeads(ctx, [{ email: 'forget-me@example.com', verified: true, hoursAgo: 1 }]);
  const id = (await admin(ctx, '/v1/admin/leads')).json().items[0].id;
  const erase = () => ctx.app.inject({ method: 'DELETE', url: `/v1/admin/leads/${id}`, headers: { ...ADMIN, 'x-admin-actor': 'dpo@vendor.example' } });
  t.equal((await erase()).statusCode, 204);
  t.equal((await erase()).statusCode, 404);
  t.equal((await admin(ctx, '/v1/admin/leads')).json().items.length, 0);
  const audit = await ctx.runtime.db.selectFrom('audit_events').selectAll().where('action', '=', 'signup_lead.erased').executeTakeFirstOrThrow();
  t.match(audit, { actor_type: 'admin', actor_id: 'dpo@vendor.example', data: { leadId: id } });
  t.notOk(JSON.stringify(audit).includes('forget-me'));
});

t.test('the sign-up funnel: started, each step (the payment step of paid plans too), completed, abandoned and conversions, in SQL', async (t) => {
  const ctx = await testContext(t);
  await startFlow(ctx);
  const verified = await verifiedFlow(ctx);
  const discarded = await startFlow(ctx);
  await flowApi(ctx).discard(discarded);
  const ready = await readyFlow(ctx);
  t.equal((await flowApi(ctx).complete(ready)).statusCode, 201);
  await sql`update signup_flows set expires_at = now() - interval '1 second' where id = ${verified.id}`.execute(ctx.runtime.db);
  // Sections may be saved in any order: a company saved before the address is verified.
  const companyFirst = await startFlow(ctx);
  t.equal((await flowApi(ctx).patch(companyFirst, { version: 0, company: { name: 'Early Bird' } })).statusCode, 200);
  const paid = await readyFlow(ctx, { plan: 'pro' });
  const card = await ctx.app.inject({ method: 'PUT', url: '/v1/signup-flows/current/payment-method', headers: { cookie: paid.cookie }, payload: { paymentMethodId: 'pm_card_visa' } });
  t.equal(card.statusCode, 200);

  const funnel = (await admin(ctx, '/v1/admin/signup-flows/funnel')).json();
  t.match(funnel, { started: 6, completed: 1, abandoned: 2, discarded: 1, inProgress: 3 });
  t.same(funnel.steps, [
    { step: 'email', reached: 4, conversion: 0.6667 },
    { step: 'profile', reached: 3, conversion: 0.75 },
    { step: 'company', reached: 3, conversion: 1 },
    { step: 'address', reached: 2, conversion: 0.6667 },
    { step: 'plan', reached: 2, conversion: 1 },
    { step: 'paymentMethod', reached: 1, conversion: 0.5 },
    { step: 'completed', reached: 1, conversion: 0.5 },
  ], 'a flow counts at every stage up to its furthest; the payment step and completion convert from the plan step');
  for (const stage of funnel.steps) t.ok(stage.conversion <= 1, `${stage.step} converts at most 1`);
  const empty = (await admin(ctx, '/v1/admin/signup-flows/funnel?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z')).json();
  t.match(empty, { started: 0, completed: 0 });
  t.equal((await admin(ctx, '/v1/admin/signup-flows/funnel?from=2020-02-01T00:00:00Z&to=2020-01-01T00:00:00Z')).statusCode, 400);
});

t.test('OpenAPI: every staged sign-up and lead route with an operationId, a summary, its body schema and error responses', async (t) => {
  const ctx = await testContext(t);
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const paths = Object.keys(doc.paths).filter((path) => path.startsWith('/v1/signup-flows') || path.startsWith('/v1/admin/leads') || path.startsWith('/v1/admin/signup-flows'));
  t.same(paths.sort(), [
    '/v1/admin/leads',
    '/v1/admin/leads/{id}',
    '/v1/admin/signup-flows/funnel',
    '/v1/signup-flows',
    '/v1/signup-flows/current',
    '/v1/signup-flows/current/complete',
    '/v1/signup-flows/current/email',
    '/v1/signup-flows/current/email/verify',
    '/v1/signup-flows/current/payment-method',
    '/v1/signup-flows/resume',
    '/v1/signup-flows/resume/verify',
  ]);
  const ids = new Set<string>();
  for (const path of paths) {
    for (const [method, operation] of Object.entries(doc.paths[path] as Record<string, { operationId?: string; summary?: string; responses: Record<string, unknown>; requestBody?: unknown }>)) {
      t.match(operation.operationId, /^[a-z][A-Za-z]+$/, `${method} ${path} has an operationId`);
      ids.add(operation.operationId!);
      t.ok(operation.summary, `${method} ${path} has a summary`);
      t.ok(Object.keys(operation.responses).some((status) => Number(status) >= 400), `${method} ${path} lists its errors`);
      if (['post', 'put', 'patch'].includes(method)) t.ok(operation.requestBody, `${method} ${path} takes a JSON body`);
    }
  }
  t.equal(ids.size, 13, 'operationIds are unique');
  t.ok(doc.components.securitySchemes.signupFlowCookie);
});
