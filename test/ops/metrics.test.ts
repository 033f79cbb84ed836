import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import t, { type Test } from 'tap';
import { Metrics } from '../../src/metrics/metrics.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { register, uniqueEmail } from '../helpers/factories.js';
import { sample } from '../helpers/prometheus.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

/** A real SMTP server that refuses every recipient whose address starts with `refused`. */
async function startRefusingSmtp(t: Test): Promise<{ url: string; accepted: string[] }> {
  const accepted: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refused')) return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      accepted.push(address.address);
      callback();
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, accepted };
}

const scrape = async (ctx: TestContext, token = METRICS_TOKEN) => {
  const response = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
  if (response.statusCode !== 200) throw new Error(`Scrape answered ${response.statusCode}: ${response.body}`);
  return response.body;
};

t.test('a scrape after traffic and jobs shows requests, 429s, jobs, queue, emails, pools and the process', async (t) => {
  const smtp = await startRefusingSmtp(t);
  const ctx = await testContext(t, { env: { METRICS_TOKEN, SMTP_URL: smtp.url, RATE_LIMIT_CONFIRMS_PER_MINUTE: '1' } });

  const delivered = uniqueEmail();
  const refused = uniqueEmail('refused');
  const first = await register(ctx.app, { email: delivered });
  t.equal(first.statusCode, 201);
  t.equal((await register(ctx.app, { email: refused })).statusCode, 201);
  const workspaceId = first.json().workspace.id as string;
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${workspaceId}/onboarding` })).statusCode, 401);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/no/such/page' })).statusCode, 404);
  const confirm = () => ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token: 'x'.repeat(43) } });
  t.equal((await confirm()).statusCode, 400);
  t.equal((await confirm()).statusCode, 429, 'the second confirmation in a minute is rate-limited');
  // A job that can only fail, due two minutes ago and never retried: the oldest job waiting.
  await sql`select graphile_worker.add_job('send_verification_email', '{"bad": true}'::json, run_at := now() - interval '2 minutes', max_attempts := 1)`.execute(ctx.runtime.db);

  const before = await scrape(ctx);
  t.ok((sample(before, 'worker_queue_jobs', { task: 'send_verification_email', state: 'ready' }) ?? 0) >= 3, 'queued emails are ready');
  t.ok((sample(before, 'worker_queue_oldest_ready_job_age_seconds', { task: 'send_verification_email' }) ?? 0) >= 120, 'the oldest ready job has waited two minutes');

  await ctx.runJobs();
  t.same(smtp.accepted, [delivered]);
  const after = await scrape(ctx);
  const count = (name: string, labels: Record<string, string>) => sample(after, `${name}_count`, labels);
  t.equal(count('http_request_duration_seconds', { method: 'POST', route: '/v1/registrations', status_code: '201' }), 2);
  t.equal(count('http_request_duration_seconds', { method: 'GET', route: '/v1/workspaces/:id/onboarding', status_code: '401' }), 1, 'labelled by route pattern');
  t.notMatch(after, workspaceId, 'never by raw URL');
  t.equal(count('http_request_duration_seconds', { route: 'unmatched', status_code: '404' }), 1);
  t.equal(sample(after, 'http_rate_limited_total', { route: '/v1/email-verifications/confirm' }), 1);
  t.equal(count('worker_job_duration_seconds', { task: 'send_verification_email', outcome: 'success' }), 1, 'the delivered email');
  t.equal(count('worker_job_duration_seconds', { task: 'send_verification_email', outcome: 'error' }), 1, 'the refused email, to be retried');
  t.equal(count('worker_job_duration_seconds', { task: 'send_verification_email', outcome: 'failed' }), 1, 'the malformed job, out of attempts');
  t.equal(count('worker_job_duration_seconds', { task: 'initialize_workspace', outcome: 'success' }), undefined, 'sign-up initialised its workspaces inline: no job ran');
  t.equal(sample(after, 'mail_messages_total', { outcome: 'sent' }), 1);
  t.equal(sample(after, 'mail_messages_total', { outcome: 'failed' }), 1);
  t.equal(sample(after, 'worker_queue_jobs', { task: 'send_verification_email', state: 'scheduled' }), 1, 'the refused email waits for its retry');
  t.equal(sample(after, 'worker_queue_jobs', { task: 'send_verification_email', state: 'failed' }), 1);
  t.equal(sample(after, 'worker_queue_oldest_ready_job_age_seconds', { task: 'send_verification_email' }), 0);
  t.ok((sample(after, 'db_pool_acquire_duration_seconds_count', { pool: 'main' }) ?? 0) > 0, 'checkouts are timed');
  t.ok((sample(after, 'db_pool_connections', { pool: 'main', state: 'idle' }) ?? 0) >= 1);
  t.equal(sample(after, 'db_pool_waiting_clients', { pool: 'main' }), 0);
  t.equal(sample(after, 'db_pool_max_connections', { pool: 'main' }), 20);
  t.ok(sample(after, 'nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
  t.ok(sample(after, 'process_cpu_user_seconds_total') !== undefined, 'process metrics');
});

t.test('GET /metrics needs the token; without METRICS_TOKEN it does not exist', async (t) => {
  const ctx = await testContext(t, { env: { METRICS_TOKEN } });
  const get = (headers: Record<string, string>) => ctx.app.inject({ method: 'GET', url: '/metrics', headers });
  const missing = await get({});
  t.equal(missing.statusCode, 401);
  t.match(missing.json(), { code: 'unauthenticated' });
  t.equal(missing.headers['www-authenticate'], 'Bearer');
  t.equal((await get({ authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` })).statusCode, 401, 'a wrong token');
  t.equal((await get({ authorization: `Bearer ${METRICS_TOKEN}extra` })).statusCode, 401, 'a longer token');
  t.equal((await get({ authorization: 'test-admin-token-0123456789abcdef0123' })).statusCode, 401);
  const ok = await get({ authorization: `Bearer ${METRICS_TOKEN}` });
  t.equal(ok.statusCode, 200);
  t.match(ok.headers['content-type'], 'text/plain');
  t.match(ok.body, '# TYPE http_request_duration_seconds histogram');
  const documented = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths['/metrics'];
  t.match(documented, { get: { operationId: 'getMetrics', security: [{ metricsToken: [] }] } }, 'documented as an operations route');

  const closed = await testContext(t);
  t.equal((await closed.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).statusCode, 404);
  t.notOk((await closed.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths['/metrics'], 'nor is it documented');
});

t.test('the queue is read once per scrape, and a scrape without the database still answers', async (t) => {
  const metrics = new Metrics();
  let reads = 0;
  let up = true;
  metrics.trackQueue(async () => {
    reads++;
    if (!up) throw new Error('The database is out of reach.');
    return { byTask: [{ task: 'send_verification_email', ready: 2, running: 1, scheduled: 0, failed: 0, oldestReadyAgeSeconds: 7 }], liveWorkers: 2 };
  });
  const first = (await metrics.scrape()).body;
  t.equal(reads, 1, 'both queue gauges share one read');
  t.equal(sample(first, 'worker_queue_jobs', { task: 'send_verification_email', state: 'ready' }), 2);
  t.equal(sample(first, 'worker_queue_oldest_ready_job_age_seconds', { task: 'send_verification_email' }), 7);
  t.equal(sample(first, 'worker_live_workers'), 2, 'the live workers come from the same read');
  up = false;
  const second = (await metrics.scrape()).body;
  t.equal(reads, 2, 'read again at the next scrape');
  t.equal(sample(second, 'worker_queue_jobs', { task: 'send_verification_email', state: 'ready' }), undefined, 'absent rather than stale');
  t.equal(sample(second, 'worker_queue_oldest_ready_job_age_seconds'), undefined);
  t.equal(sample(second, 'worker_live_workers'), 0, 'no live worker can be vouched for: none runs a job without the database either');
  t.ok(sample(second, 'process_cpu_user_seconds_total') !== undefined, 'everything else is still served');
});

t.test('worker_live_workers counts the workers whose heartbeat is younger than WORKER_DEAD_AFTER_SECONDS, on every host', async (t) => {
  const ctx = await testContext(t, { env: { METRICS_TOKEN, WORKER_DEAD_AFTER_SECONDS: '20', WORKER_HEARTBEAT_SECONDS: '5' } });
  t.equal(sample(await scrape(ctx), 'worker_live_workers'), 0, 'no worker at all: 0, the value to alert on');
  const beat = (workerId: string, ageSeconds: number) =>
    ctx.runtime.db
      .insertInto('worker_heartbeats')
      .values({ worker_id: workerId, hostname: `host-of-${workerId}`, pid: 1, last_seen_at: sql`now() - make_interval(secs => ${ageSeconds})` })
      .execute();
  await beat('pool-fresh', 0);
  await beat('pool-late', 15);
  await beat('pool-silent', 25);
  t.equal(sample(await scrape(ctx), 'worker_live_workers'), 2, 'silent for 25 s of the 20 allowed: not counted');
  await ctx.runtime.services.workers.beat('pool-silent');
  t.equal(sample(await scrape(ctx), 'worker_live_workers'), 3, 'a heartbeat brings it back');
});
