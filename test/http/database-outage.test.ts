import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { buildServer, loggerOptions } from '../../src/http/server.js';
import { createRuntime } from '../../src/runtime.js';
import { createTestDatabase } from '../helpers/database.js';
import { register, signUp } from '../helpers/factories.js';
import { outageProxy } from '../helpers/outage-proxy.js';

t.test('while the database is out of reach, requests answer 503 to retry; the service recovers by itself', async (t) => {
  const databaseUrl = new URL(await createTestDatabase(t));
  const proxy = await outageProxy(databaseUrl);
  await proxy.up();
  t.teardown(() => proxy.down());

  let logs = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  const logger = pino(loggerOptions('info'), sink);
  const config = loadConfig({ DATABASE_URL: proxy.url, SMTP_URL: 'smtp://127.0.0.1:1', SESSION_CACHE_SECONDS: '0' });
  const runtime = await createRuntime(config, logger);
  const app = await buildServer({ config, services: runtime.services, logger });
  t.teardown(async () => {
    await app.close();
    await runtime.close();
  });
  const owner = await signUp(app);

  await proxy.down();
  const me = await app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: owner.cookie } });
  t.equal(me.statusCode, 503, 'a signed-in request');
  t.equal(me.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(me.headers['retry-after'], '5');
  t.match(me.json(), { code: 'temporarily_unavailable', status: 503, detail: /cannot reach its database/ });
  const registration = await register(app);
  t.equal(registration.statusCode, 503, 'a sign-up (its rate limit is counted in the database first)');
  t.match(registration.json(), { code: 'temporarily_unavailable' });
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'and readiness says so');
  t.notMatch(logs, /unhandled error/, 'an outage is not logged as a bug of ours');
  t.match(logs, /cannot reach its database/, 'but it is logged');

  await proxy.up();
  const meAgain = await app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: owner.cookie } });
  t.equal(meAgain.statusCode, 200, 'the pool reconnects on the next request');
  t.equal(meAgain.json().account.email, owner.email);
  t.equal((await register(app)).statusCode, 201, 'and sign-ups work again');
});
