import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import { testContext } from '../helpers/app.js';
import { PASSWORD, uniqueEmail } from '../helpers/factories.js';
import { sample } from '../helpers/prometheus.js';
import { eventually, startProcess } from '../helpers/processes.js';

t.test('METRICS_PORT serves /metrics without a token, for npm start and npm run worker; the API port does not', async (t) => {
  const ctx = await testContext(t);
  const [apiPort, apiMetricsPort, workerMetricsPort] = [await freePort(), await freePort(), await freePort()];
  const common: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: ctx.databaseUrl, SMTP_URL: ctx.smtp.url, LOG_LEVEL: 'info' };
  delete common.METRICS_TOKEN;
  const api = startProcess(t, 'src/main.ts', { ...common, PORT: String(apiPort), METRICS_PORT: String(apiMetricsPort), RUN_WORKER: 'false' });
  const worker = startProcess(t, 'src/worker-main.ts', { ...common, METRICS_PORT: String(workerMetricsPort) });
  await eventually(() => (api.output().includes('Server listening') ? true : undefined));
  await eventually(() => (worker.output().includes('worker started') ? true : undefined));
  t.match(api.output(), /"host":"127.0.0.1","port":\d+,"msg":"metrics served on their own listener"/, 'loopback unless METRICS_HOST says otherwise');

  const apiBase = `http://127.0.0.1:${apiPort}`;
  const onApiPort = await fetch(`${apiBase}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0123456789abcdef' } });
  t.equal(onApiPort.status, 404, 'the public port has no /metrics');
  const registered = await fetch(`${apiBase}/v1/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, name: 'Ada', workspaceName: 'Acme' }),
  });
  t.equal(registered.status, 201);

  const scrape = async (port: number, path = '/metrics') => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  };
  const apiMetrics = await scrape(apiMetricsPort);
  t.equal(apiMetrics.status, 200, 'no token needed on the metrics listener');
  t.equal(sample(apiMetrics.body, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/registrations', status_code: '201' }), 1);
  t.equal(sample(apiMetrics.body, 'http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }), 1);
  t.equal((await scrape(apiMetricsPort, '/v1/registrations')).status, 404, 'the metrics listener serves nothing else');

  // The worker process sends the verification email and counts it on its own listener.
  const workerMetrics = await eventually(async () => {
    const { body } = await scrape(workerMetricsPort);
    return sample(body, 'worker_job_duration_seconds_count', { task: 'send_verification_email', outcome: 'success' }) === 1 ? body : undefined;
  });
  t.equal(sample(workerMetrics, 'mail_messages_total', { outcome: 'sent' }), 1);
  t.ok((sample(workerMetrics, 'db_pool_acquire_duration_seconds_count', { pool: 'main' }) ?? 0) > 0, 'and its connection pool');
  t.equal(ctx.smtp.messages.length, 1);
});

t.test('with METRICS_TOKEN set too, the metrics listener asks for the token as well', async (t) => {
  const token = 'port-token-0123456789abcdef0123456789';
  const server = await startMetricsServer({ metrics: new Metrics(), host: '127.0.0.1', port: 0, token });
  t.teardown(() => server.close());
  const get = (headers: Record<string, string> = {}, method = 'GET') => fetch(`http://127.0.0.1:${server.port}/metrics`, { method, headers });
  const refused = await get();
  t.equal(refused.status, 401);
  t.equal(refused.headers.get('www-authenticate'), 'Bearer');
  t.equal((await get({ authorization: `Bearer ${token.toUpperCase()}` })).status, 401, 'a wrong token');
  const ok = await get({ authorization: `bearer ${token}` });
  t.equal(ok.status, 200);
  t.match(await ok.text(), '# TYPE nodejs_eventloop_lag_seconds gauge');
  t.equal((await get({ authorization: `Bearer ${token}` }, 'POST')).status, 404, 'GET (and HEAD) only');
});
