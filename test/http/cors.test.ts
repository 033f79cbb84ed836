import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { testContext } from '../helpers/app.js';
import { signUp } from '../helpers/factories.js';

const ORIGINS = 'http://localhost:5173,https://app.example.com';

t.test('a preflight from an allowed origin is answered with credentials allowed', async (t) => {
  const ctx = await testContext(t, { env: { CORS_ORIGINS: ORIGINS } });
  const answer = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/v1/workspaces/6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c/onboarding/draft',
    headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type,idempotency-key' },
  });
  t.equal(answer.statusCode, 204);
  t.equal(answer.headers['access-control-allow-origin'], 'http://localhost:5173');
  t.equal(answer.headers['access-control-allow-credentials'], 'true');
  t.match(answer.headers['access-control-allow-methods'], /PATCH/);
  t.match(answer.headers['access-control-allow-headers'], /content-type,idempotency-key/);
  t.match(answer.headers.vary, /Origin/);
});

t.test('a credentialed request from an allowed origin gets its CORS headers, ETag, Retry-After and Location exposed', async (t) => {
  const ctx = await testContext(t, { env: { CORS_ORIGINS: ORIGINS } });
  const owner = await signUp(ctx.app);
  const answer = await ctx.app.inject({ url: '/v1/me/onboarding-status', headers: { origin: 'https://app.example.com', cookie: owner.cookie } });
  t.equal(answer.statusCode, 200);
  t.equal(answer.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(answer.headers['access-control-allow-credentials'], 'true');
  t.same(String(answer.headers['access-control-expose-headers']).split(',').map((name) => name.trim()).sort(), ['ETag', 'Location', 'Retry-After']);
  const problem = await ctx.app.inject({ url: '/v1/me', headers: { origin: 'https://app.example.com' } });
  t.equal(problem.statusCode, 401);
  t.equal(problem.headers['access-control-allow-origin'], 'https://app.example.com', 'errors carry CORS headers too, so the frontend can read them');
});

t.test('an origin not on the list gets no CORS header at all', async (t) => {
  const ctx = await testContext(t, { env: { CORS_ORIGINS: ORIGINS } });
  const owner = await signUp(ctx.app);
  const preflight = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/v1/me',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  });
  t.not(preflight.statusCode, 204);
  const credentialed = await ctx.app.inject({ url: '/v1/me', headers: { origin: 'https://evil.example', cookie: owner.cookie } });
  for (const answer of [preflight, credentialed]) {
    t.same(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')), [], 'no Access-Control-* header');
  }
  const sameHostOtherPort = await ctx.app.inject({ url: '/v1/me', headers: { origin: 'http://localhost:5174', cookie: owner.cookie } });
  t.equal(sameHostOtherPort.headers['access-control-allow-origin'], undefined, 'the port is part of the origin');
});

t.test('CORS_ORIGINS defaults to the origin of APP_BASE_URL and refuses what is not an origin', async (t) => {
  const ctx = await testContext(t, { env: { APP_BASE_URL: 'http://localhost:5173/app/' } });
  t.same(ctx.config.corsOrigins, ['http://localhost:5173']);
  const answer = await ctx.app.inject({ url: '/healthz', headers: { origin: 'http://localhost:5173' } });
  t.equal(answer.headers['access-control-allow-origin'], 'http://localhost:5173');
  for (const bad of ['*', 'https://app.example.com/path', 'app.example.com', 'ftp://x.example']) {
    t.throws(() => loadConfig({ CORS_ORIGINS: bad }), ConfigError, `refuses ${bad}`);
  }
  t.same(loadConfig({ CORS_ORIGINS: ' https://a.example , https://b.example:8443/ ' }).corsOrigins, ['https://a.example', 'https://b.example:8443']);
});
