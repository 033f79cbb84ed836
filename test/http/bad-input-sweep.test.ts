/**
 * Bad input never gets a 500: every route in the OpenAPI document is called with each path
 * parameter, query parameter and body property replaced in turn by values of the wrong type, size
 * or content, signed in as a member and as the admin at once. Every answer must be a 4xx (or a
 * success) and every error a problem document.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { addMember, invite, signUpVerified, uniqueEmail } from '../helpers/factories.js';

interface Schema {
  type?: string;
  format?: string;
  minLength?: number;
  minimum?: number;
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
}
interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';
// An id in RFC 4122's URN form passes some uuid checks but not PostgreSQL's uuid type.
const URN_UUID = `urn:uuid:${randomUUID()}`;
const WRONG_VALUES: unknown[] = [null, true, 0, -1, 1.5, 1e20, '', 'x', 'x'.repeat(5000), '\u0000', '2026-12-31T23:59:60Z', URN_UUID, [], ['x'], {}, { a: { b: 1 } }];
const WRONG_TEXT = ['', 'x', '-1', '0', '1e309', '%00', '%ZZ', 'x'.repeat(3000), '2026-13-45', '2026-12-31T23:59:60Z', 'true', '[]', URN_UUID];

/** A value the schema accepts, so that one wrong property at a time gets past the others. */
function example(schema: Schema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return example(schema.anyOf[0]!);
  if (schema.type === 'object') {
    return Object.fromEntries((schema.required ?? []).map((key) => [key, example(schema.properties![key]!)]));
  }
  if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 1;
  if (schema.type === 'boolean') return true;
  if (schema.type === 'array') return [];
  if (schema.format === 'email') return uniqueEmail('sweep');
  if (schema.format === 'uuid') return randomUUID();
  if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
  return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
}

t.test('no route answers 500 to bad input, and every error is problem+json', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const member = await addMember(ctx, owner, 'member');
  const invitationId = (await invite(ctx.app, owner, owner.workspaceId, uniqueEmail('invitee'))).json().id as string;
  const valid: Record<string, string> = {
    id: owner.workspaceId,
    invitationId,
    accountId: member.accountId,
    token: 'x'.repeat(43),
    step: 'profile_complete',
  };
  const headers = { cookie: owner.cookie, authorization: `Bearer ${ADMIN_TOKEN}` };

  await ctx.app.ready();
  const paths = (ctx.app.swagger() as { paths: Record<string, Record<string, Operation>> }).paths;
  // Signing out ends the session every other call uses, so it goes last.
  const operations = Object.entries(paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })))
    .sort((a, b) => Number(a.path === '/v1/sessions/current') - Number(b.path === '/v1/sessions/current'));

  const failures: string[] = [];
  let calls = 0;
  const call = async (method: string, url: string, payload?: string) => {
    calls++;
    const response = await ctx.app.inject({ method: method as 'GET', url, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' }, payload });
    const label = `${method} ${url.slice(0, 120)} ${payload?.slice(0, 120) ?? ''}`;
    if (response.statusCode >= 500) failures.push(`${response.statusCode} ${label}`);
    else if (response.statusCode >= 400 && !String(response.headers['content-type']).startsWith('application/problem+json')) failures.push(`not problem+json: ${label}`);
  };

  for (const { path, method, operation } of operations) {
    const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
    const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    const url = (overrides: Record<string, string> = {}) =>
      path.replace(/\{(\w+)\}/g, (_, name: string) => overrides[name] ?? encodeURIComponent(valid[name] ?? 'x'));
    const bodySchema = operation.requestBody?.content['application/json']?.schema;
    const body = bodySchema ? JSON.stringify(example(bodySchema)) : undefined;

    for (const name of pathParams) {
      for (const value of [randomUUID(), ...WRONG_TEXT]) await call(method, url({ [name]: value }), body);
    }
    for (const name of queryParams) {
      for (const value of WRONG_TEXT) await call(method, `${url()}?${name}=${value}`, body);
    }
    if (!bodySchema) continue;
    for (const raw of ['null', '[]', '"text"', '42', '{}', '{"a":', body!.replace(/}$/, ',"extra":1}')]) await call(method, url(), raw);
    for (const property of Object.keys(bodySchema.properties ?? {})) {
      for (const value of WRONG_VALUES) await call(method, url(), JSON.stringify({ ...(example(bodySchema) as object), [property]: value }));
    }
  }
  t.ok(operations.length >= 31, `${operations.length} operations swept`);
  t.ok(calls > operations.length * 10, `${calls} calls made`);
  t.same(failures, [], 'no 500, and problem+json for every error');
});
