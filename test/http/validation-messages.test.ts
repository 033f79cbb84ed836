import t from 'tap';
import { explainErrors } from '../../src/http/validation-messages.js';
import { testContext } from '../helpers/app.js';
import { register, signUp, uniqueEmail } from '../helpers/factories.js';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };

t.test('a bad enum value names the field once and lists the allowed values', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const answer = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/workspaces/${owner.workspaceId}/members/${owner.accountId}`,
    headers: { cookie: owner.cookie },
    payload: { role: 'boss' },
  });
  t.equal(answer.statusCode, 400);
  t.same(answer.json().errors, [{ field: 'role', message: 'must be one of: "owner", "admin", "member"' }]);
  t.equal(answer.json().detail, 'The request is not valid: role must be one of: "owner", "admin", "member".');

  const filtered = await ctx.app.inject({ url: '/v1/admin/workspaces?trialState=soon', headers: ADMIN });
  t.same(filtered.json().errors, [{ field: 'querystring.trialState', message: 'must be one of: "pending_verification", "active", "ending_soon", "expired"' }]);
});

t.test('lengths give their bounds, formats say what they expect, ranges give both ends', async (t) => {
  const ctx = await testContext(t);
  const answer = await register(ctx.app, { email: 'not-an-email', password: 'short', name: '   ' });
  t.equal(answer.statusCode, 400);
  t.same(
    answer.json().errors.sort((a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field)),
    [
      { field: 'email', message: 'must be an email address' },
      { field: 'name', message: 'must be 1 to 100 characters long, not counting spaces at either end' },
      { field: 'password', message: 'must be from 8 to 256 characters long' },
    ],
  );

  const badDate = await ctx.app.inject({ url: '/v1/admin/workspaces?createdFrom=yesterday&limit=0', headers: ADMIN });
  t.same(
    badDate.json().errors.sort((a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field)),
    [
      { field: 'querystring.createdFrom', message: 'must be a date-time in RFC 3339 form, e.g. 2026-01-31T09:00:00Z' },
      { field: 'querystring.limit', message: 'must be from 1 to 100' },
    ],
  );
  const badId = await ctx.app.inject({ url: '/v1/admin/workspaces/42', headers: ADMIN });
  t.same(badId.json().errors, [{ field: 'params.id', message: 'must be a UUID' }]);
  const huge = await register(ctx.app, { email: 'huge@example.com', password: 'long enough password', name: 'x'.repeat(5000) });
  t.same(huge.json().errors, [{ field: 'name', message: 'must be 1 to 100 characters long, not counting spaces at either end' }], 'a huge name gets its real bounds, once');
  const badType = await ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email: 'a@example.com', password: 42 } });
  t.same(badType.json().errors, [{ field: 'password', message: 'must be a string' }]);
});

t.test('a union that is not all literals lists each branch', async (t) => {
  const [error] = explainErrors([
    { keyword: 'format', instancePath: '/at', schemaPath: '#/properties/at/anyOf/0/format', params: { format: 'date-time' }, parentSchema: { type: 'string', format: 'date-time' } },
    { keyword: 'type', instancePath: '/at', schemaPath: '#/properties/at/anyOf/1/type', params: { type: 'null' } },
    { keyword: 'anyOf', instancePath: '/at', schemaPath: '#/properties/at/anyOf', params: {}, schema: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
  ]);
  t.equal(error!.message, 'must be a date-time in RFC 3339 form, e.g. 2026-01-31T09:00:00Z or null');
});

t.test('a nullable field names the rule it broke, not only "a string or null"', async (t) => {
  const ctx = await testContext(t);
  const create = (payload: Record<string, unknown>) => ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: ADMIN, payload });
  const tooLong = await create({ url: 'https://hooks.example.com/in', description: 'd'.repeat(501) });
  t.equal(tooLong.statusCode, 400);
  t.same(tooLong.json().errors, [{ field: 'description', message: 'must be at most 500 characters long' }]);
  const badType = await create({ url: 'https://hooks.example.com/in', description: 42 });
  t.same(badType.json().errors, [{ field: 'description', message: 'must be a string or null' }]);
  const badItem = await create({ url: 'https://hooks.example.com/in', eventTypes: ['Member.Joined'] });
  t.equal(badItem.json().errors[0]?.field, 'eventTypes.0', 'an event type list points at the bad item');
  const cleared = await create({ url: 'https://hooks.example.com/in', description: null, eventTypes: null });
  t.equal(cleared.statusCode, 201, 'null is still allowed');
  t.equal(cleared.json().description, null);
});

t.test('an API body with a property its schema does not know is refused, naming it and the known ones', async (t) => {
  const ctx = await testContext(t);
  const misspelt = await register(ctx.app, { email: 'typo@example.com', password: 'long enough password', name: 'Ada', workspaceName: 'Acme', workspace_name: 'Acme' });
  t.equal(misspelt.statusCode, 400);
  t.same(misspelt.json().errors, [{ field: 'workspace_name', message: 'is not a known field here; the fields are: email, password, name, workspaceName' }]);
  const owner = await signUp(ctx.app);
  const nested = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/workspaces/${owner.workspaceId}/members/${owner.accountId}`,
    headers: { cookie: owner.cookie },
    payload: { role: 'owner', rolee: 'admin' },
  });
  t.same(nested.json().errors?.map((e: { field: string }) => e.field), ['rolee']);
  const tracked = await ctx.app.inject({ url: '/v1/admin/workspaces?utm_source=newsletter', headers: ADMIN });
  t.equal(tracked.statusCode, 200, 'an unknown query parameter is still dropped, not refused');
});

t.test('an id in the URN form (urn:uuid:...) is not a UUID here: 400, never a database error', async (t) => {
  const ctx = await testContext(t);
  const id = 'urn:uuid:da86341b-e16e-4cec-b924-51818b701644';
  const api = await ctx.app.inject({ url: `/v1/admin/workspaces/${id}`, headers: ADMIN });
  t.equal(api.statusCode, 400);
  t.same(api.json().errors, [{ field: 'params.id', message: 'must be a UUID' }]);
  const page = await ctx.app.inject({ url: `/onboarding/${id.toUpperCase()}` });
  t.equal(page.statusCode, 400, 'a page with such an id answers its 400 page');
  t.match(page.headers['content-type'], /text\/html/);
});

t.test('names, company and address lines are one line of visible text', async (t) => {
  const ctx = await testContext(t);
  const registered = (workspaceName: string) => register(ctx.app, { email: uniqueEmail('line'), password: 'long enough password', name: 'Ada', workspaceName });
  const cases: [string, string][] = [
    ['Inj\r\nBcc: victim@evil.example', 'must not contain control characters such as line breaks or tabs'],
    ['Evil\tCo\u001b[31m', 'must not contain control characters such as line breaks or tabs'],
    ['\u202eevil', 'must not contain direction override characters'],
    ['\u200b\u200b', 'must contain visible characters, not only spaces or invisible ones'],
    ['\u3164', 'must contain visible characters, not only spaces or invisible ones'],
    ['\u2800\ufe0f', 'must contain visible characters, not only spaces or invisible ones'],
    ['\u0301\u0301', 'must contain visible characters, not only spaces or invisible ones'],
  ];
  for (const [name, message] of cases) {
    const answer = await registered(name);
    t.equal(answer.statusCode, 400, JSON.stringify(name));
    t.same(answer.json().errors, [{ field: 'workspaceName', message }], JSON.stringify(name));
  }
  const trailing = await registered('  Acme Labs\n');
  t.equal(trailing.statusCode, 201, 'a line break at either end is trimmed away like spaces');
  t.equal(trailing.json().workspace.name, 'Acme Labs');
  t.equal((await registered('Café 🧑‍💻 Ltd')).statusCode, 201, 'accents and emoji sequences (with their zero-width joiners) are fine');

  const owner = await signUp(ctx.app);
  const created = await ctx.app.inject({ method: 'POST', url: '/v1/workspaces', headers: { cookie: owner.cookie }, payload: { name: 'Second\nLine' } });
  t.same(created.json().errors, [{ field: 'name', message: 'must not contain control characters such as line breaks or tabs' }], 'a new workspace too');
});

t.test('a number beyond the range of a double (1e400) is refused, not stored as null', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const answer = await ctx.app.inject({
    method: 'PATCH',
    url: `/v1/workspaces/${owner.workspaceId}/onboarding/draft`,
    headers: { cookie: owner.cookie, 'content-type': 'application/json' },
    payload: '{"data":{"seats":1e400},"version":0}',
  });
  t.equal(answer.statusCode, 400);
  t.same(answer.json().errors, [{ field: 'data.seats', message: 'must be a finite number (this one is beyond the range of a double)' }]);
  const saved = await ctx.app.inject({ url: `/v1/workspaces/${owner.workspaceId}/onboarding`, headers: { cookie: owner.cookie } });
  t.same(saved.json().data, {}, 'nothing was saved');
});

t.test('every message is written for people: patterns, repeated items, prototype keys', async (t) => {
  const ctx = await testContext(t);
  const webhook = await ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: ADMIN, payload: { url: 'https://hooks.example.com/in', eventTypes: ['member.joined', 'member.joined', 'Member'] } });
  t.same(
    webhook.json().errors,
    [
      { field: 'eventTypes.2', message: 'must be an event type in lower case, such as member.joined, or a prefix such as member.*' },
      { field: 'eventTypes', message: 'must not list the same value twice' },
    ],
  );
  const poisoned = await ctx.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'application/json' }, payload: '{"email":"a@example.com","password":"long enough","__proto__":{"admin":true}}' });
  t.equal(poisoned.statusCode, 400);
  t.equal(poisoned.json().detail, 'The request body is not valid JSON, or holds a "__proto__" or "constructor" key, which is refused.');
});

t.test('a compressed body is a 415 that says so, not "not valid JSON"', async (t) => {
  const ctx = await testContext(t);
  const { gzipSync } = await import('node:zlib');
  const answer = await ctx.app.inject({
    method: 'POST',
    url: '/v1/sessions',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    payload: gzipSync(JSON.stringify({ email: 'a@example.com', password: 'long enough' })),
  });
  t.equal(answer.statusCode, 415);
  t.equal(answer.json().detail, 'A request body with Content-Encoding gzip is not accepted: send it uncompressed.');
  const plain = await ctx.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-encoding': 'identity' }, payload: { email: 'a@example.com', password: 'long enough' } });
  t.equal(plain.statusCode, 401, 'identity is no coding at all: the request goes on (and these credentials are wrong)');
  const noBody = await ctx.app.inject({ url: '/healthz', headers: { 'content-encoding': 'gzip' } });
  t.equal(noBody.statusCode, 200, 'a request without a body is not refused for the header');
});

t.test('a webhook PATCH with nothing to change is a 400 listing what it can change', async (t) => {
  const ctx = await testContext(t);
  const created = await ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: ADMIN, payload: { url: 'https://hooks.example.com/empty-patch' } });
  const empty = await ctx.app.inject({ method: 'PATCH', url: `/v1/admin/webhooks/${created.json().id}`, headers: ADMIN, payload: {} });
  t.equal(empty.statusCode, 400);
  t.same(empty.json().errors, [{ field: 'body', message: 'must give at least one of: url, eventTypes, description, enabled' }]);
  const after = await ctx.app.inject({ url: `/v1/admin/webhooks/${created.json().id}`, headers: ADMIN });
  t.equal(after.json().updatedAt, created.json().updatedAt, 'nothing was touched');
});

t.test('admin reasons and the X-Admin-Actor name are one line of visible text', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const trial = (reason: string, actor?: string) =>
    ctx.app.inject({ method: 'POST', url: `/v1/admin/workspaces/${owner.workspaceId}/trial`, headers: { ...ADMIN, ...(actor ? { 'x-admin-actor': actor } : {}) }, payload: { extendDays: 3, reason } });
  t.same((await trial('\u200b')).json().errors, [{ field: 'reason', message: 'must contain visible characters, not only spaces or invisible ones' }]);
  t.same((await trial('Support ticket 42', 'Olivia\tOps')).json().errors, [{ field: 'headers.x-admin-actor', message: 'must not contain control characters such as line breaks or tabs' }]);
  const webhook = await ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: { ...ADMIN, 'x-admin-actor': 'Olivia\tOps' }, payload: { url: 'https://hooks.example.com/actor' } });
  t.same(webhook.json().errors, [{ field: 'headers.x-admin-actor', message: 'must not contain control characters such as line breaks or tabs' }], 'on every admin route that records who acted');

  // Node reads header bytes as Latin-1; a UTF-8 name (as curl sends it) is decoded back, not refused for its bytes.
  const utf8Name = Buffer.from('Łukasz Żółć', 'utf8').toString('latin1');
  const named = await ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: { ...ADMIN, 'x-admin-actor': utf8Name }, payload: { url: 'https://hooks.example.com/named' } });
  t.equal(named.statusCode, 201);
  const blank = await ctx.app.inject({ method: 'POST', url: '/v1/admin/webhooks', headers: { ...ADMIN, 'x-admin-actor': '   ' }, payload: { url: 'https://hooks.example.com/blank' } });
  t.equal(blank.statusCode, 201, 'a blank name is no name: the actor is "admin"');
  const actors = await ctx.runtime.db.selectFrom('audit_events').select('actor_id').where('action', '=', 'webhook.created').orderBy('occurred_at').execute();
  t.same(actors.map((row) => row.actor_id), ['Łukasz Żółć', 'admin']);
});
