import t from 'tap';
import { createPool } from '../../src/db/database.js';
import { HealthService } from '../../src/services/health-service.js';
import { testContext } from '../helpers/app.js';

t.test('GET /openapi.json is OpenAPI 3.1 generated from the route schemas; /docs serves the UI', async (t) => {
  const ctx = await testContext(t);
  const response = await ctx.app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(response.statusCode, 200);
  const doc = response.json();
  t.equal(doc.openapi, '3.1.0');
  for (const path of ['/v1/registrations', '/v1/email-verifications/confirm', '/v1/email-verifications/resend', '/v1/sessions', '/v1/sessions/current', '/v1/me', '/v1/workspaces/{id}']) {
    t.ok(doc.paths[path], `documents ${path}`);
  }
  const registration = doc.paths['/v1/registrations'].post;
  t.match(registration.requestBody.content['application/json'].schema.required, ['email', 'password', 'name', 'workspaceName']);
  t.ok(registration.responses['201'], 'documents the 201');
  t.ok(registration.responses['409'], 'documents the 409');
  t.same(doc.paths['/v1/me'].get.security, [{ sessionCookie: [] }]);
  t.ok(doc.components.securitySchemes.sessionCookie);
  const ui = await ctx.app.inject({ method: 'GET', url: '/docs/' });
  t.equal(ui.statusCode, 200);
  t.match(ui.headers['content-type'], /text\/html/);
});

t.test('/healthz answers; /readyz is 200 only while the database answers and migrations are applied', async (t) => {
  const ctx = await testContext(t);
  t.same((await ctx.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  const ready = await ctx.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready' });

  await ctx.runtime.pool.query("delete from schema_migrations where name like '0001%'");
  const pending = await ctx.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(pending.statusCode, 503);
  t.match(pending.json(), { status: 'not_ready', reason: /migration/ });
});

t.test('/readyz is 503 when the database is unreachable', async (t) => {
  const ctx = await testContext(t);
  // Point readiness at a port where nothing listens: the same service, a dead database.
  const deadPool = createPool('postgres://postgres@127.0.0.1:1/none', 1);
  t.teardown(() => deadPool.end());
  const health = new HealthService(deadPool);
  t.same(await health.readiness(), { ready: false, reason: 'database unreachable' });
  t.same(await ctx.runtime.services.health.readiness(), { ready: true }, 'the live one is ready');
});
