import t from 'tap';
import { testContext } from '../helpers/app.js';
import { latestToken, PASSWORD, register, sessionCookie, uniqueEmail } from '../helpers/factories.js';

t.test('malformed JSON 400, oversized body 413, wrong content type 415, unknown route 404: all problem+json', async (t) => {
  const ctx = await testContext(t);
  const post = (payload: string, contentType: string) =>
    ctx.app.inject({ method: 'POST', url: '/v1/registrations', payload, headers: { 'content-type': contentType } });
  const cases = [
    { label: 'malformed JSON', response: await post('{"email": ', 'application/json'), status: 400, code: 'malformed_request' },
    { label: 'body over 64 KiB', response: await post(JSON.stringify({ name: 'x'.repeat(70_000) }), 'application/json'), status: 413, code: 'payload_too_large' },
    { label: 'text/plain', response: await post('hello', 'text/plain'), status: 415, code: 'unsupported_media_type' },
    { label: 'form encoded', response: await post('a=b', 'application/x-www-form-urlencoded'), status: 415, code: 'unsupported_media_type' },
    { label: 'unknown route', response: await ctx.app.inject({ method: 'GET', url: '/v1/nope' }), status: 404, code: 'not_found' },
  ];
  for (const { label, response, status, code } of cases) {
    t.equal(response.statusCode, status, label);
    t.match(response.headers['content-type'], /^application\/problem\+json/, `${label}: problem+json`);
    t.match(response.json(), { type: `urn:problem:${code}`, title: String, status, detail: String, code }, `${label}: RFC 9457 body`);
  }
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
