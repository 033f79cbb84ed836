import t from 'tap';
import { testContext } from '../helpers/app.js';
import { latestToken, PASSWORD, register, sessionCookie, signUp, uniqueEmail } from '../helpers/factories.js';
import { redactUrl } from '../../src/http/server.js';

t.test('malformed JSON or URL 400, oversized body 413, over-long path 414, wrong content type 415, unknown route 404: all problem+json', async (t) => {
  const ctx = await testContext(t);
  const post = (payload: string, contentType: string) =>
    ctx.app.inject({ method: 'POST', url: '/v1/registrations', payload, headers: { 'content-type': contentType } });
  const cases = [
    { label: 'malformed JSON', response: await post('{"email": ', 'application/json'), status: 400, code: 'malformed_request' },
    { label: 'body over 64 KiB', response: await post(JSON.stringify({ name: 'x'.repeat(70_000) }), 'application/json'), status: 413, code: 'payload_too_large' },
    { label: 'text/plain', response: await post('hello', 'text/plain'), status: 415, code: 'unsupported_media_type' },
    { label: 'form encoded', response: await post('a=b', 'application/x-www-form-urlencoded'), status: 415, code: 'unsupported_media_type' },
    { label: 'unknown route', response: await ctx.app.inject({ method: 'GET', url: '/v1/nope' }), status: 404, code: 'not_found' },
    { label: 'malformed %-escape in the path', response: await ctx.app.inject({ method: 'GET', url: '/v1/workspaces/%ZZ' }), status: 400, code: 'malformed_request' },
    { label: 'over-long path parameter', response: await ctx.app.inject({ method: 'GET', url: `/v1/invitations/${'x'.repeat(500)}` }), status: 414, code: 'uri_too_long' },
  ];
  for (const { label, response, status, code } of cases) {
    t.equal(response.statusCode, status, label);
    t.match(response.headers['content-type'], /^application\/problem\+json/, `${label}: problem+json`);
    t.match(response.json(), { type: `urn:problem:${code}`, title: String, status, detail: String, code }, `${label}: RFC 9457 body`);
  }
});

t.test('input PostgreSQL cannot store (NUL, half a surrogate pair, a leap second, an int4 overflow, deep nesting) is a 400 field error, never a 500', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const json = { 'content-type': 'application/json' };
  const draft = (payload: string) =>
    ctx.app.inject({ method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/onboarding/draft`, headers: { ...json, cookie: owner.cookie }, payload });
  const admin = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };
  const cases = [
    { label: 'NUL in a name', response: await ctx.app.inject({ method: 'POST', url: '/v1/registrations', headers: json, payload: `{"email":"${uniqueEmail()}","password":"${PASSWORD}","name":"Ada\\u0000","workspaceName":"Acme"}` }), field: 'name' },
    { label: 'NUL deep in draft data', response: await draft('{"data":{"company":{"notes":["ok","a\\u0000b"]}},"version":0}'), field: 'data.company.notes.1' },
    { label: 'NUL in a draft key', response: await draft('{"data":{"a\\u0000":1},"version":0}'), field: 'data.a\u0000' },
    { label: 'a lone high surrogate', response: await draft('{"data":{"a":"\\ud800"},"version":0}'), field: 'data.a' },
    { label: 'a lone low surrogate', response: await draft('{"data":{"a":"x\\udc00"},"version":0}'), field: 'data.a' },
    { label: 'a version beyond int4', response: await draft('{"data":{},"version":3000000000}'), field: 'version' },
    { label: '%00 in a query string', response: await ctx.app.inject({ method: 'GET', url: '/v1/admin/workspaces?q=a%00b', headers: admin }), field: 'querystring.q' },
    { label: 'a leap second (RFC 3339 allows it, PostgreSQL does not)', response: await ctx.app.inject({ method: 'GET', url: '/v1/admin/workspaces?createdFrom=2026-12-31T23:59:60Z', headers: admin }), field: 'querystring.createdFrom' },
    { label: '%00 in a path', response: await ctx.app.inject({ method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/onboarding/steps/a%00b`, headers: { cookie: owner.cookie } }), field: 'params.step' },
  ];
  for (const { label, response, field } of cases) {
    t.equal(response.statusCode, 400, label);
    t.match(response.json(), { code: 'validation_failed', errors: [{ field, message: /NUL|surrogate|must be from 0 to|must be a date-time/ }] }, label);
  }
  const deep = await draft(`{"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"version":0}`);
  t.equal(deep.statusCode, 400, 'JSON nested 10,000 levels deep');
  t.match(deep.json(), { code: 'validation_failed', errors: [{ field: `data${'.a'.repeat(31)}`, message: 'must not nest more than 32 levels deep' }] });
  t.equal((await draft(`{"data":${'{"a":'.repeat(31)}1${'}'.repeat(31)},"version":0}`)).statusCode, 200, '32 levels, counting the body, are fine');

  const paired = await draft('{"data":{"emoji":"\\ud83d\\ude00","path":"C:\\\\u0000"},"version":1}');
  t.equal(paired.statusCode, 200, 'a whole surrogate pair and an escaped backslash before u0000 are fine');
  const stored = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}/onboarding`, headers: { cookie: owner.cookie } })).json();
  t.same(stored.data, { emoji: '\u{1F600}', path: 'C:\\u0000' });
});

t.test('logs never contain a password, a token, a cookie or an Authorization header', async (t) => {
  const ctx = await testContext(t, { captureLogs: true });
  const email = uniqueEmail();
  const registration = await register(ctx.app, { email });
  const cookie = sessionCookie(registration);
  const token = await latestToken(ctx, email);
  await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } });
  await ctx.app.inject({ method: 'GET', url: `/v1/anything?token=${token}` });
  await ctx.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email, password: PASSWORD } });
  await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } });
  await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer secret-bearer-value' } });

  const logs = ctx.logs();
  t.ok(logs.includes('"url":"/v1/me"'), 'requests were logged');
  t.notOk(logs.includes(PASSWORD), 'no password');
  t.notOk(logs.includes(token), 'no token');
  t.notOk(logs.includes(cookie.slice('sid='.length)), 'no session cookie');
  t.notOk(logs.includes('secret-bearer-value'), 'no Authorization header');
});

t.test('a token parameter is redacted from a logged URL however its name or value is escaped', async (t) => {
  const ctx = await testContext(t, { captureLogs: true });
  const token = 'Ab-_'.repeat(10) + 'xyz';
  // A mail scanner or proxy may escape the name or a character of the value; the query parser still reads a token.
  const urls = [`/verify-email?%74oken=${token.replace('-', '%2D')}`, `/verify-email?x=1&t%6Fken=${token.replace('_', '%5F')}`, `/invitations/accept?token=${token.replace('-', '%2d')}`];
  for (const url of urls) await ctx.app.inject({ method: 'GET', url });
  const logs = ctx.logs();
  t.match(logs, '/verify-email?%74oken=[redacted]', 'the request was logged');
  t.match(logs, '/verify-email?x=1&t%6Fken=[redacted]', 'other parameters are kept');
  for (const part of [token.slice(0, 12), token.slice(-12)]) t.notOk(logs.includes(part), `no part of the token (${part})`);
  t.equal(redactUrl('/admin?q=ada%40example.com&cursor=abc'), '/admin?q=ada%40example.com&cursor=abc', 'nothing else is touched');
  t.equal(redactUrl('/verify-email?token=%E0%A4%A&%ZZtoken=1'), '/verify-email?token=[redacted]&%ZZtoken=1', 'a malformed escape does not throw');
});
