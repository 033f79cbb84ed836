import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import t from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { signUp, signUpVerified, type Owner } from '../helpers/factories.js';
import { craftedTimestamp } from '../helpers/arbitraries.js';

interface BodySchema {
  type?: string;
  format?: string;
  minimum?: number;
  properties?: Record<string, BodySchema>;
  required?: string[];
}

interface Operation {
  method: string;
  path: string;
  parameters?: { in: string; name: string; schema?: { format?: string } }[];
  requestBody?: { content?: Record<string, { schema?: BodySchema }> };
}

/** Every operation of the served OpenAPI document. */
async function operations(ctx: TestContext): Promise<Operation[]> {
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Omit<Operation, 'path' | 'method'>>> };
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ ...op, path, method: method.toUpperCase() })));
}

/** Every GET operation, with its query parameters. */
async function getOperations(ctx: TestContext): Promise<Operation[]> {
  return (await operations(ctx)).filter((op) => op.method === 'GET');
}

/** The operation's URL with path parameters filled from the owner's workspace, and one query parameter set. */
function url(operation: Operation, owner: Owner, name: string, value: string): string {
  const path = operation.path.replace(/\{[^}]+\}/g, owner.workspaceId);
  return `${path}?${new URLSearchParams({ [name]: value })}`;
}

/** Sends it as an admin and as the owner, so any route gets past its guard to the input. */
function get(ctx: TestContext, owner: Owner, target: string) {
  return ctx.app.inject({ method: 'GET', url: target, headers: { authorization: `Bearer ${ctx.config.adminToken}`, cookie: owner.cookie } });
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value) ?? '').toString('base64url');

/** Random text, random base64, random JSON, and cursors shaped like ours with crafted values. */
const cursors = fc.oneof(
  fc.string({ maxLength: 600 }),
  fc.base64String({ maxLength: 500 }),
  fc.jsonValue().map(base64url),
  fc.tuple(fc.oneof(craftedTimestamp, fc.string(), fc.integer(), fc.constant(null)), fc.oneof(fc.uuid(), fc.string(), fc.constant(randomUUID()))).map(base64url),
  fc.tuple(craftedTimestamp, fc.uuid()).map(base64url),
  fc.array(fc.oneof(craftedTimestamp, fc.uuid()), { maxLength: 4 }).map(base64url),
);

/** A problem document unless it worked: never a 5xx. */
function checkAnswer(response: Awaited<ReturnType<typeof get>>, codes: string[]): void {
  if (response.statusCode >= 500) throw new Error(`${response.statusCode}: ${response.body}`);
  if (response.statusCode === 200) return;
  if (!/^application\/problem\+json/.test(String(response.headers['content-type']))) throw new Error(`not a problem document: ${response.body}`);
  const { code } = response.json() as { code: string };
  if (response.statusCode !== 400 || !codes.includes(code)) throw new Error(`${response.statusCode} ${code}`);
}

t.test('the cursor of every paginated route, from the served OpenAPI document: random and crafted cursors never answer 5xx', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  // Webhook endpoints, one under the id every path parameter gets, so its delivery log fills too.
  await ctx.runtime.db.insertInto('webhook_endpoints').values([owner.workspaceId, randomUUID()].map((id) => ({ id, url: 'http://127.0.0.1:9/', secret: Buffer.alloc(1) }))).execute();
  for (let i = 0; i < 3; i++) await signUp(ctx.app);
  // Two leads from abandoned staged sign-ups, so the lead list has a second page too.
  await sql`
    insert into signup_leads (email, email_verified, started_at, abandoned_at, marketing_consent)
    select 'lead-' || i || '@example.com', true, now() - interval '1 day', now() - make_interval(mins => i), true
    from generate_series(1, 2) as i`.execute(ctx.runtime.db);
  const paginated = (await getOperations(ctx)).filter((op) => op.parameters?.some((p) => p.in === 'query' && p.name === 'cursor'));
  t.ok(paginated.some((op) => op.path === '/v1/admin/workspaces') && paginated.some((op) => op.path === '/v1/admin/audit-events'), 'the admin lists are found');
  for (const operation of paginated) {
    await fc.assert(
      fc.asyncProperty(cursors, async (cursor) => checkAnswer(await get(ctx, owner, url(operation, owner, 'cursor', cursor)), ['invalid_cursor', 'validation_failed'])),
      { numRuns: 150 },
    );
    const impossible = base64url(['2026-13-45T99:99:99Z', randomUUID()]);
    const yearZero = base64url(['0000-01-01 00:00:00+00', randomUUID()]);
    for (const cursor of [impossible, yearZero]) {
      const response = await get(ctx, owner, url(operation, owner, 'cursor', cursor));
      t.equal(response.statusCode, 400, `${operation.path}: ${Buffer.from(cursor, 'base64url')}`);
      t.match(response.json(), { code: 'invalid_cursor' });
    }
    const first = await get(ctx, owner, `${url(operation, owner, 'limit', '1')}`);
    const next = first.json().nextCursor as string;
    t.equal((await get(ctx, owner, url(operation, owner, 'cursor', next))).statusCode, 200, `${operation.path}: a cursor it made still works`);
  }
});

t.test('every date-time query parameter, from the served OpenAPI document: crafted date-times never answer 5xx', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const dated = (await getOperations(ctx)).flatMap((op) =>
    (op.parameters ?? []).filter((p) => p.in === 'query' && p.schema?.format === 'date-time').map((p) => ({ operation: op, name: p.name })),
  );
  t.ok(dated.length >= 5, `date-time parameters found: ${dated.map((d) => `${d.operation.path} ${d.name}`).join(', ')}`);
  for (const { operation, name } of dated) {
    await fc.assert(
      fc.asyncProperty(fc.oneof(craftedTimestamp, fc.string()), async (value) => checkAnswer(await get(ctx, owner, url(operation, owner, name, value)), ['validation_failed'])),
      { numRuns: 60 },
    );
    for (const value of ['0000-01-01T00:00:00Z', '2026-13-45T99:99:99Z', '0001-01-01T00:00:00+01:00']) {
      const response = await get(ctx, owner, url(operation, owner, name, value));
      t.equal(response.statusCode, 400, `${operation.path} ${name}=${value}`);
      t.match(response.json(), { code: 'validation_failed', errors: [{ field: `querystring.${name}` }] });
    }
  }
});

/** A body that passes the schema except, perhaps, for `field`: each required property gets a plain value of its type. */
function bodyWith(schema: BodySchema, field: string, value: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const property = schema.properties?.[name] ?? {};
    body[name] =
      property.type === 'integer' || property.type === 'number' ? (property.minimum ?? 1)
      : property.type === 'boolean' ? true
      : property.format === 'uuid' ? randomUUID()
      : property.format === 'date-time' ? '2026-01-01T00:00:00Z'
      : 'x';
  }
  return { ...body, [field]: value };
}

t.test('every date-time field of a JSON body, from the served OpenAPI document: crafted date-times never answer 5xx', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const dated = (await operations(ctx)).flatMap((op) => {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    return Object.entries(schema?.properties ?? {})
      .filter(([, property]) => property.format === 'date-time')
      .map(([name]) => ({ operation: op, schema: schema!, name }));
  });
  t.ok(dated.some((d) => d.operation.path === '/v1/admin/workspaces/{id}/trial' && d.name === 'trialEndsAt'), 'the trial end is found');
  const send = (operation: Operation, payload: Record<string, unknown>) =>
    ctx.app.inject({
      method: operation.method as 'POST',
      url: operation.path.replace(/\{[^}]+\}/g, owner.workspaceId),
      headers: { authorization: `Bearer ${ctx.config.adminToken}`, cookie: owner.cookie },
      payload,
    });
  for (const { operation, schema, name } of dated) {
    await fc.assert(
      fc.asyncProperty(fc.oneof(craftedTimestamp, fc.string()), async (value) => {
        const response = await send(operation, bodyWith(schema, name, value));
        if (response.statusCode >= 500) throw new Error(`${response.statusCode}: ${response.body}`);
        if (response.statusCode >= 400 && !/^application\/problem\+json/.test(String(response.headers['content-type']))) throw new Error(response.body);
      }),
      { numRuns: 60 },
    );
    for (const value of ['0000-01-01T00:00:00Z', '2026-13-45T99:99:99Z', '9999-12-31T23:59:59-01:00']) {
      const response = await send(operation, bodyWith(schema, name, value));
      t.equal(response.statusCode, 400, `${operation.method} ${operation.path} ${name}=${value}`);
      t.match(response.json(), { code: 'validation_failed', errors: [{ field: name }] });
    }
  }
});
