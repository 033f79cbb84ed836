import { sql } from 'kysely';
import t from 'tap';
import { RETRY_DELAYS_SECONDS } from '../../src/services/events/webhook-service.js';
import { testContext, type TestContext, type TestService } from '../helpers/app.js';
import { PASSWORD, signUp } from '../helpers/factories.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const admin = { authorization: 'Bearer test-admin-token-0123456789abcdef0123' };

function call(ctx: Pick<TestService, 'app'>, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: Record<string, unknown>) {
  return ctx.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
}

/** Creates an endpoint for the receiver and lets the receiver verify with its secret. */
async function subscribe(ctx: TestContext, receiver: WebhookReceiver, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const response = await call(ctx, 'POST', '/v1/admin/webhooks', { url: receiver.url, ...body });
  if (response.statusCode !== 201) throw new Error(`Creating the endpoint failed: ${response.body}`);
  const { id, secret } = response.json();
  receiver.secrets.push(secret);
  return { id, secret };
}

interface DeliveryState {
  id: string;
  status: string;
  attempts: number;
  delay: number | null;
}

async function deliveries(ctx: TestContext, endpointId: string): Promise<DeliveryState[]> {
  const { rows } = await sql<DeliveryState>`
    select id, status, attempts, extract(epoch from next_attempt_at - last_attempt_at)::int as delay
    from webhook_deliveries where endpoint_id = ${endpointId} order by created_at`.execute(ctx.runtime.db);
  return rows;
}

/** The next scheduled attempt becomes due now (instead of waiting out the schedule), then due jobs run. */
async function runRetries(ctx: TestContext): Promise<void> {
  await sql`update graphile_worker._private_jobs set run_at = now()
    where task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver_webhook')`.execute(ctx.runtime.db);
  await ctx.runJobs();
}

t.test('an endpoint gets each subscribed event signed per Standard Webhooks, its secret shown once', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id, secret } = await subscribe(ctx, receiver, { eventTypes: ['account.*', 'workspace.created'], description: 'CRM' });
  t.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  t.ok(Buffer.from(secret.slice('whsec_'.length), 'base64').length >= 24, 'at least 24 random bytes');
  const shown = await call(ctx, 'GET', `/v1/admin/webhooks/${id}`);
  t.equal(shown.statusCode, 200);
  t.notOk('secret' in shown.json(), 'never shown again');
  t.match(shown.json(), { url: receiver.url, eventTypes: ['account.*', 'workspace.created'], description: 'CRM', enabled: true });
  const stored = await sql<{ secret: Buffer }>`select secret from webhook_endpoints where id = ${id}`.execute(ctx.runtime.db);
  t.notOk(stored.rows[0]!.secret.toString('latin1').includes(secret.slice(6, 20)), 'stored encrypted, not as written');

  const owner = await signUp(ctx.app, { workspaceName: 'Acme' });
  await ctx.runJobs();
  t.same(receiver.received.map((r) => r.body.type).sort(), ['account.registered', 'workspace.created'], 'workspace.initialized is not subscribed');
  const { rows: stored_events } = await sql<{ id: string; type: string; occurredAt: Date }>`
    select id, type, occurred_at as "occurredAt" from events where workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  for (const request of receiver.received) {
    t.same(request.verifiedWith, [secret], `${request.body.type}: the signature verifies`);
    const event = stored_events.find((e) => e.type === request.body.type)!;
    t.equal(request.id, event.id, 'webhook-id is the event id');
    t.equal(request.body.timestamp, event.occurredAt.toISOString());
    t.equal(request.body.data.workspaceId, owner.workspaceId);
    t.match(request.signature, /^v1,[A-Za-z0-9+/]+=*$/);
  }
  const registered = receiver.received.find((r) => r.body.type === 'account.registered')!;
  t.same(registered.body.data, { accountId: owner.accountId, email: owner.email, name: 'Ada Lovelace', emailVerified: false, via: 'registration', workspaceId: owner.workspaceId, sequence: 1 });
  t.notOk(JSON.stringify(receiver.received).includes(PASSWORD));
  t.same((await deliveries(ctx, id)).map((d) => [d.status, d.attempts, d.delay]), [['delivered', 1, null], ['delivered', 1, null]]);
});

t.test('retries through 500s, a timeout and a refused connection on the exact schedule, then delivers with one webhook-id', async (t) => {
  const ctx = await testContext(t, { env: { WEBHOOK_TIMEOUT_MS: '300' } });
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push(500, 503, 'hang');
  await signUp(ctx.app);
  await ctx.runJobs();
  t.same((await deliveries(ctx, id)).map((d) => [d.status, d.attempts, d.delay]), [['pending', 1, 5]], 'first retry in 5 s');
  await runRetries(ctx);
  t.same((await deliveries(ctx, id)).map((d) => [d.attempts, d.delay]), [[2, 300]], 'then in 5 min');
  await runRetries(ctx); // the receiver never answers: the attempt times out
  t.same((await deliveries(ctx, id)).map((d) => [d.attempts, d.delay]), [[3, 1800]], 'then in 30 min');
  await receiver.close();
  await runRetries(ctx); // nothing listens: connection refused
  t.same((await deliveries(ctx, id)).map((d) => [d.attempts, d.delay]), [[4, 7200]], 'then in 2 h');
  await receiver.reopen();
  await runRetries(ctx);
  const [delivery] = await deliveries(ctx, id);
  t.match(delivery, { status: 'delivered', attempts: 5, delay: null });

  t.equal(receiver.received.length, 4, 'four requests arrived (the refused one could not)');
  t.equal(new Set(receiver.received.map((r) => r.id)).size, 1, 'one webhook-id throughout');
  t.ok(receiver.received.every((r) => r.verifiedWith.length === 1), 'every attempt signed afresh and valid');
  const log = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries/${delivery!.id}`);
  t.equal(log.statusCode, 200);
  const attempts = log.json().attemptLog as { statusCode: number | null; error: string | null; responseExcerpt: string | null; durationMs: number }[];
  t.same(attempts.map((a) => a.statusCode), [500, 503, null, null, 200]);
  t.match(attempts[0], { responseExcerpt: 'answer 500', error: null });
  t.match(attempts[2]!.error, /No answer within 300 ms/);
  t.match(attempts[3]!.error, /ECONNREFUSED/);
  const jobs = await sql`select 1 from graphile_worker._private_jobs`.execute(ctx.runtime.db);
  t.equal(jobs.rows.length, 0, 'no job left behind');
});

t.test('an attempt whose process died mid-way (kill -9) is made again once its claim expires', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  await signUp(ctx.app);
  // What a worker killed between claiming the delivery and recording the answer leaves behind.
  await sql`update webhook_deliveries set locked_until = now() + interval '75 seconds' where endpoint_id = ${id}`.execute(ctx.runtime.db);
  await ctx.runJobs(); // the job the sweeper released runs again and finds the claim still held
  t.equal(receiver.received.length, 0, 'no second attempt while the claim holds');
  const { rows } = await sql<{ due: boolean }>`
    select abs(extract(epoch from j.run_at - d.locked_until)) < 0.01 as due from webhook_deliveries d
    join graphile_worker._private_jobs j on j.key = 'webhook:' || d.event_id || ':' || d.endpoint_id
    where d.endpoint_id = ${id}`.execute(ctx.runtime.db);
  t.same(rows, [{ due: true }], 'the delivery is queued again for when the claim ends');
  await sql`update webhook_deliveries set locked_until = now() - interval '1 second' where endpoint_id = ${id}`.execute(ctx.runtime.db);
  await runRetries(ctx);
  t.match((await deliveries(ctx, id))[0], { status: 'delivered', attempts: 1 });
  t.equal(receiver.received.length, 1);
});

t.test('a redirect is not followed and a dropped connection is an error: both retry, then deliver', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push('redirect', 'close');
  await signUp(ctx.app);
  await ctx.runJobs();
  t.equal(receiver.received.length, 1, 'the redirect was not followed');
  t.same((await deliveries(ctx, id)).map((d) => [d.status, d.attempts, d.delay]), [['pending', 1, 5]], 'a 307 is not delivered: retry in 5 s');
  await runRetries(ctx);
  t.same((await deliveries(ctx, id)).map((d) => [d.status, d.attempts, d.delay]), [['pending', 2, 300]], 'a dropped connection: retry in 5 min');
  await runRetries(ctx);
  const [delivery] = await deliveries(ctx, id);
  t.match(delivery, { status: 'delivered', attempts: 3 });
  t.equal(receiver.received.length, 3);
  t.equal(new Set(receiver.received.map((r) => r.id)).size, 1, 'one webhook-id throughout');
  const log = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries/${delivery!.id}`);
  const attempts = log.json().attemptLog as { statusCode: number | null; error: string | null }[];
  t.same(attempts.map((a) => a.statusCode), [307, null, 200]);
  t.equal(attempts[0]!.error, `The endpoint redirected to ${receiver.url}?redirected; redirects are not followed: change the endpoint's URL if it moved.`, 'the log says where the receiver pointed');
  t.match(attempts[1]!.error, /ECONNRESET|socket hang up/);
  t.equal(attempts[2]!.error, null);
});

t.test('an endpoint URL is stored as it will be called: trimmed, without line breaks, the host in punycode', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const created = await call(ctx, 'POST', '/v1/admin/webhooks', { url: `  ${receiver.url.replace('/hooks', '/ho\noks')}\t ` });
  t.equal(created.statusCode, 201);
  t.equal(created.json().url, receiver.url);
  const moved = await call(ctx, 'PATCH', `/v1/admin/webhooks/${created.json().id}`, { url: 'http://exämple.com/hook ' });
  t.equal(moved.json().url, 'http://xn--exmple-cua.com/hook');
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${created.json().id}`)).json().url, 'http://xn--exmple-cua.com/hook');
});

t.test('after the whole schedule the delivery is marked failed', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push(...Array.from({ length: 10 }, () => 500));
  await signUp(ctx.app);
  await ctx.runJobs();
  const delays: (number | null)[] = [];
  for (let attempt = 1; attempt <= 10; attempt++) {
    const [delivery] = await deliveries(ctx, id);
    delays.push(delivery!.delay);
    await runRetries(ctx);
  }
  t.same(delays, [...RETRY_DELAYS_SECONDS, null], '5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h');
  t.match((await deliveries(ctx, id))[0], { status: 'failed', attempts: 10 });
  t.equal(receiver.received.length, 10);
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries?status=failed`)).json().items.length, 1);
});

t.test('410 Gone disables the endpoint; a disabled endpoint gets nothing more', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push(410);
  await signUp(ctx.app);
  await ctx.runJobs();
  t.match((await call(ctx, 'GET', `/v1/admin/webhooks/${id}`)).json(), { enabled: false, disabledReason: 'The endpoint answered 410 Gone.' });
  t.match((await deliveries(ctx, id))[0], { status: 'failed', attempts: 1, delay: null });
  await signUp(ctx.app);
  await ctx.runJobs();
  t.equal(receiver.received.length, 1);
  t.equal((await deliveries(ctx, id)).length, 1, 'no delivery is even created for a disabled endpoint');
  const audit = await sql`select 1 from audit_events where action = 'webhook.disabled'`.execute(ctx.runtime.db);
  t.equal(audit.rows.length, 1);
});

t.test('a pending delivery of an endpoint disabled meanwhile is cancelled, and replays once enabled', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  await signUp(ctx.app);
  t.equal((await call(ctx, 'POST', `/v1/admin/webhooks/${id}/disable`)).statusCode, 200);
  await ctx.runJobs();
  const [delivery] = await deliveries(ctx, id);
  t.match(delivery, { status: 'cancelled', attempts: 0 });
  const refused = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/${delivery!.id}/retry`);
  t.match(refused.json(), { status: 409, code: 'endpoint_disabled' });
  t.equal((await call(ctx, 'PATCH', `/v1/admin/webhooks/${id}`, { enabled: true })).statusCode, 200);
  const replayed = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/${delivery!.id}/retry`);
  t.match(replayed.json(), { status: 'delivered', attempts: 1 });
  t.equal(receiver.received.length, 1);
});

t.test('a rotated secret: both sign during the overlap, then only the new one', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id, secret: old } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  const rotated = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/rotate-secret`);
  t.equal(rotated.statusCode, 200);
  const fresh = rotated.json().secret as string;
  t.not(fresh, old);
  t.ok(new Date(rotated.json().previousSecretExpiresAt).getTime() > Date.now() + 23 * 3600_000, 'the old one lasts 24 hours');
  receiver.secrets.push(fresh);

  await signUp(ctx.app);
  await ctx.runJobs();
  t.same(receiver.received[0]!.verifiedWith, [old, fresh], 'a receiver with either secret verifies');
  t.equal(receiver.received[0]!.signature.split(' ').length, 2);

  await sql`update webhook_endpoints set previous_expires_at = now() - interval '1 second' where id = ${id}`.execute(ctx.runtime.db);
  await signUp(ctx.app);
  await ctx.runJobs();
  t.same(receiver.received[1]!.verifiedWith, [fresh], 'after the overlap only the new secret signs');
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${id}`)).json().previousSecretExpiresAt, null);
});

t.test('one endpoint per URL: a double-clicked create makes one endpoint, and a PATCH cannot take the URL of another', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const other = await startReceiver(t);
  const answers = await Promise.all([1, 2].map(() => call(ctx, 'POST', '/v1/admin/webhooks', { url: receiver.url })));
  t.same(answers.map((answer) => answer.statusCode).sort(), [201, 409]);
  const created = answers.find((answer) => answer.statusCode === 201)!.json();
  const refused = answers.find((answer) => answer.statusCode === 409)!;
  t.match(refused.headers['content-type'], 'application/problem+json');
  t.match(refused.json(), { code: 'endpoint_exists', endpointId: created.id, errors: [{ field: 'url' }] });
  const { rows } = await sql<{ n: string }>`select count(*) as n from webhook_endpoints`.execute(ctx.runtime.db);
  t.equal(Number(rows[0]!.n), 1);

  const second = await call(ctx, 'POST', '/v1/admin/webhooks', { url: other.url });
  t.equal(second.statusCode, 201);
  const moved = await call(ctx, 'PATCH', `/v1/admin/webhooks/${second.json().id}`, { url: receiver.url });
  t.match(moved.json(), { status: 409, code: 'endpoint_exists', endpointId: created.id });
  t.equal((await call(ctx, 'PATCH', `/v1/admin/webhooks/${created.id}`, { url: receiver.url, description: 'same URL' })).statusCode, 200, 'its own URL is not taken');
});

t.test('endpoint URLs: a #fragment is refused, and one endpoint per URL compares URLs as parsed (scheme and host case, default port)', async (t) => {
  const ctx = await testContext(t);
  const created = await call(ctx, 'POST', '/v1/admin/webhooks', { url: 'https://dbl.example/h' });
  t.equal(created.statusCode, 201);
  const other = await call(ctx, 'POST', '/v1/admin/webhooks', { url: 'https://other.example/h' });
  t.equal(other.statusCode, 201);
  for (const url of ['https://dbl.example/h#frag', 'https://dbl.example/h#', 'https://new.example/h#frag']) {
    for (const [method, path] of [['POST', '/v1/admin/webhooks'], ['PATCH', `/v1/admin/webhooks/${other.json().id}`]] as const) {
      const refused = await call(ctx, method, path, { url });
      t.equal(refused.statusCode, 400, `${method} ${url}`);
      t.match(refused.json(), { code: 'validation_failed', errors: [{ field: 'url', message: 'must not contain a #fragment (fragments are not sent over HTTP)' }] });
    }
  }
  for (const url of ['HTTPS://DBL.Example:443/h', 'https://dbl.example:443/h', 'HTTPS://dbl.EXAMPLE/h', 'https://dbl.example/h?', 'https://dbl.example./h', 'https://dbl.example/%68']) {
    t.match((await call(ctx, 'POST', '/v1/admin/webhooks', { url })).json(), { status: 409, code: 'endpoint_exists', endpointId: created.json().id }, `POST ${url}`);
    t.match((await call(ctx, 'PATCH', `/v1/admin/webhooks/${other.json().id}`, { url })).json(), { status: 409, code: 'endpoint_exists' }, `PATCH ${url}`);
  }
  const moved = await call(ctx, 'PATCH', `/v1/admin/webhooks/${other.json().id}`, { url: 'HTTP://Other.Example:80/h2' });
  t.equal(moved.json().url, 'http://other.example/h2', 'stored as parsed');
  const { rows } = await sql<{ url: string }>`select url from webhook_endpoints order by url`.execute(ctx.runtime.db);
  t.same(rows.map((row) => row.url), ['http://other.example/h2', 'https://dbl.example/h']);
});

t.test('two rotations in a row (a double click): the secret from before both keeps signing with the newest', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id, secret: original } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  const [first, second] = await Promise.all([1, 2].map(() => call(ctx, 'POST', `/v1/admin/webhooks/${id}/rotate-secret`)));
  t.equal(first!.statusCode, 200);
  t.equal(second!.statusCode, 200);
  const secrets = [first!.json().secret as string, second!.json().secret as string];
  receiver.secrets.push(...secrets);

  await signUp(ctx.app);
  await ctx.runJobs();
  const verifiedWith = receiver.received[0]!.verifiedWith as string[];
  t.ok(verifiedWith.includes(original), 'a receiver still on the original secret verifies');
  t.equal(verifiedWith.length, 2, 'two secrets sign: the original and the newest');
  t.ok(secrets.some((secret) => verifiedWith.includes(secret)), 'the last rotation answered the secret that signs now');
});

t.test('replay from the log re-sends now with the same webhook-id; the scheduled retry then does nothing', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push(500);
  await signUp(ctx.app);
  await ctx.runJobs();
  const page = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries`);
  const delivery = page.json().items[0];
  t.match(delivery, { status: 'pending', attempts: 1, eventType: 'workspace.created', sequence: 2, lastAttempt: { statusCode: 500 } });
  const retried = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/${delivery.id}/retry`);
  t.equal(retried.statusCode, 200);
  t.match(retried.json(), { status: 'delivered', attempts: 2 });
  await runRetries(ctx);
  t.equal(receiver.received.length, 2, 'the queued retry found it delivered');
  t.equal(receiver.received[0]!.id, receiver.received[1]!.id);

  const again = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/${delivery.id}/retry`);
  t.match(again.json(), { status: 'delivered', attempts: 3 }, 'a delivered one can be replayed too');
  t.equal(receiver.received.length, 3);
  t.equal(receiver.received[2]!.id, receiver.received[0]!.id);
  t.equal((await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/00000000-0000-4000-8000-000000000000/retry`)).statusCode, 404);
});

t.test('the test route sends a signed webhook.test to that endpoint only', async (t) => {
  const ctx = await testContext(t);
  const receiver = await startReceiver(t);
  const other = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['member.invited'] });
  await subscribe(ctx, other);
  const tested = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/test`);
  t.equal(tested.statusCode, 200);
  t.match(tested.json(), { eventType: 'webhook.test', status: 'delivered', attempts: 1, workspaceId: null, sequence: null, attemptLog: [{ statusCode: 200 }] });
  t.equal(receiver.received.length, 1);
  t.match(receiver.received[0]!.body, { type: 'webhook.test', data: { endpointId: id } });
  t.equal(receiver.received[0]!.verifiedWith.length, 1);
  await ctx.runJobs();
  t.equal(other.received.length, 0, 'other endpoints never get test events');
  receiver.answers.push(500);
  const failing = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/test`);
  t.match(failing.json(), { status: 'failed', attemptLog: [{ statusCode: 500 }] }, 'a test is not retried');
  await call(ctx, 'POST', `/v1/admin/webhooks/${id}/disable`);
  t.match((await call(ctx, 'POST', `/v1/admin/webhooks/${id}/test`)).json(), { status: 'delivered' }, 'a disabled endpoint can be tested before enabling it');
  t.equal((await call(ctx, 'POST', `/v1/admin/webhooks/00000000-0000-4000-8000-000000000000/test`)).statusCode, 404);
});

t.test('two instances deliver each event to each endpoint once', async (t) => {
  const ctx = await testContext(t);
  const second = await ctx.secondInstance();
  const receivers = [await startReceiver(t), await startReceiver(t)];
  for (const receiver of receivers) await subscribe(ctx, receiver);
  await Promise.all(Array.from({ length: 8 }, (_, i) => signUp((i % 2 ? second : ctx).app)));
  for (let round = 0; round < 2; round++) await Promise.all([ctx.runJobs(), second.runJobs(), ctx.runJobs(), second.runJobs()]);
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from events`.execute(ctx.runtime.db);
  for (const receiver of receivers) {
    t.equal(receiver.received.length, rows[0]!.n, 'one request per event');
    t.equal(new Set(receiver.received.map((r) => r.id)).size, rows[0]!.n, 'no event twice');
    t.ok(receiver.received.every((r) => r.verifiedWith.length === 1));
  }
  // Per workspace, sequences arrive complete: a receiver can order by them.
  const byWorkspace = new Map<string, number[]>();
  for (const r of receivers[0]!.received) byWorkspace.set(r.body.data.workspaceId!, [...(byWorkspace.get(r.body.data.workspaceId!) ?? []), r.body.data.sequence!]);
  for (const sequences of byWorkspace.values()) t.same(sequences.sort((a, b) => a - b), [1, 2, 3], 'registered, created, initialized');
});

t.test('in production, private, loopback and link-local addresses are refused unless allowed', async (t) => {
  const ctx = await testContext(t, { env: { NODE_ENV: 'production', PAYMENT_GATEWAY: 'local' } });
  const refusedUrls = [
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://10.1.2.3/hook',
    'http://192.168.0.10/hook',
    'http://172.16.5.4/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:a00:1]/hook',
    'http://0.0.0.0/hook',
    'ftp://93.184.215.14/hook',
    'http://user:pass@93.184.215.14/hook',
  ];
  for (const url of refusedUrls) {
    const response = await call(ctx, 'POST', '/v1/admin/webhooks', { url });
    t.equal(response.statusCode, 400, url);
    t.equal(response.json().errors?.[0]?.field, 'url');
  }
  const created = await call(ctx, 'POST', '/v1/admin/webhooks', { url: 'https://93.184.215.14/hook' });
  t.equal(created.statusCode, 201, 'a public address is fine');
  const moved = await call(ctx, 'PATCH', `/v1/admin/webhooks/${created.json().id}`, { url: 'http://10.0.0.7/' });
  t.equal(moved.statusCode, 400, 'an update is checked too');

  // An endpoint whose address turned private meanwhile is refused at delivery time, without a request.
  const receiver = await startReceiver(t);
  await sql`update webhook_endpoints set url = ${`http://localhost:${new URL(receiver.url).port}/hooks`}, event_types = '{workspace.created}'
    where id = ${created.json().id}`.execute(ctx.runtime.db);
  await signUp(ctx.app);
  await ctx.runJobs();
  t.equal(receiver.received.length, 0, 'nothing reached the private address');
  const [delivery] = await deliveries(ctx, created.json().id);
  const log = await call(ctx, 'GET', `/v1/admin/webhooks/${created.json().id}/deliveries/${delivery!.id}`);
  t.match(log.json().attemptLog[0].error, /private, loopback or link-local/);

  const allowed = await testContext(t, { env: { NODE_ENV: 'production', PAYMENT_GATEWAY: 'local', WEBHOOK_ALLOW_PRIVATE: 'true' } });
  t.equal((await call(allowed, 'POST', '/v1/admin/webhooks', { url: 'http://127.0.0.1:8080/hook' })).statusCode, 201, 'WEBHOOK_ALLOW_PRIVATE=true allows it');
  t.equal((await call(allowed, 'POST', '/v1/admin/webhooks', { url: 'ftp://127.0.0.1/hook' })).statusCode, 400, 'still only http(s)');
});

t.test('endpoints: list with cursor pages, update, unknown event types refused, delete, admin only', async (t) => {
  const ctx = await testContext(t);
  for (let i = 0; i < 3; i++) t.equal((await call(ctx, 'POST', '/v1/admin/webhooks', { url: `http://127.0.0.1:9/${i}` })).statusCode, 201);
  const first = await call(ctx, 'GET', '/v1/admin/webhooks?limit=2');
  t.equal(first.json().items.length, 2);
  const second = await call(ctx, 'GET', `/v1/admin/webhooks?limit=2&cursor=${first.json().nextCursor}`);
  t.equal(second.json().items.length, 1);
  t.equal(second.json().nextCursor, null);
  t.same([...first.json().items, ...second.json().items].map((e: { url: string }) => e.url), ['http://127.0.0.1:9/2', 'http://127.0.0.1:9/1', 'http://127.0.0.1:9/0']);
  const id = second.json().items[0].id;
  t.match((await call(ctx, 'PATCH', `/v1/admin/webhooks/${id}`, { eventTypes: ['member.*'], description: 'IdP' })).json(), { eventTypes: ['member.*'], description: 'IdP' });
  const unknown = await call(ctx, 'POST', '/v1/admin/webhooks', { url: 'http://127.0.0.1:9/', eventTypes: ['member.exploded', 'nothing.*'] });
  t.match(unknown.json(), { status: 400, errors: [{ field: 'eventTypes' }] });
  t.equal((await call(ctx, 'GET', '/v1/admin/webhooks?enabled=false')).json().items.length, 0);
  t.equal((await call(ctx, 'DELETE', `/v1/admin/webhooks/${id}`)).statusCode, 204);
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${id}`)).statusCode, 404);
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/webhooks' })).statusCode, 401);
  const audit = await sql<{ action: string }>`select action from audit_events where action like 'webhook.%' order by occurred_at`.execute(ctx.runtime.db);
  t.same(audit.rows.map((r) => r.action), ['webhook.created', 'webhook.created', 'webhook.created', 'webhook.updated', 'webhook.deleted']);
});

t.test('the delivery log filters and pages; old rows are purged after the retention', async (t) => {
  const ctx = await testContext(t, { env: { WEBHOOK_LOG_RETENTION_DAYS: '30' } });
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver);
  const owner = await signUp(ctx.app);
  await signUp(ctx.app);
  await ctx.runJobs();
  const all = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries?limit=4`);
  t.equal(all.json().items.length, 4);
  const rest = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries?limit=4&cursor=${all.json().nextCursor}`);
  t.equal(rest.json().items.length, 2, 'six deliveries in all');
  const filtered = await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries?eventType=workspace.created&workspaceId=${owner.workspaceId}`);
  t.same(filtered.json().items.map((d: { workspaceId: string; eventType: string }) => [d.workspaceId, d.eventType]), [[owner.workspaceId, 'workspace.created']]);
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries?cursor=nonsense`)).statusCode, 400);

  await sql`update webhook_deliveries set created_at = now() - interval '31 days'
    where event_id in (select id from events where workspace_id = ${owner.workspaceId})`.execute(ctx.runtime.db);
  await sql`update events set occurred_at = now() - interval '31 days' where workspace_id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.same(await ctx.runtime.services.webhooks.purge(), { deliveries: 3, events: 3 });
  t.equal((await call(ctx, 'GET', `/v1/admin/webhooks/${id}/deliveries`)).json().items.length, 3, 'the recent ones stay');
});

t.test('replay queues past events to an endpoint (a backfill), with their original webhook-ids', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await signUp(ctx.app);
  await ctx.runJobs();
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.*'] });
  const since = new Date(Date.now() - 3600_000).toISOString();
  const replayed = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/replay`, { since });
  t.equal(replayed.statusCode, 202);
  t.same(replayed.json(), { queued: 4, truncated: false }, 'created and initialized, for two workspaces');
  await ctx.runJobs();
  const { rows } = await sql<{ id: string }>`select id from events where type like 'workspace.%' order by occurred_at`.execute(ctx.runtime.db);
  t.same(receiver.received.map((r) => r.id).sort(), rows.map((r) => r.id).sort());
  t.ok(receiver.received.every((r) => r.verifiedWith.length === 1));

  const one = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/replay`, { since, workspaceId: owner.workspaceId });
  t.same(one.json(), { queued: 2, truncated: false });
  await ctx.runJobs();
  t.equal(receiver.received.length, 6);
  t.same((await deliveries(ctx, id)).map((d) => d.attempts).sort(), [1, 1, 1, 1], 'a replay starts a fresh schedule on the same delivery');
  t.equal((await call(ctx, 'POST', `/v1/admin/webhooks/${id}/replay`, { since, until: since })).statusCode, 400);
  await call(ctx, 'POST', `/v1/admin/webhooks/${id}/disable`);
  t.equal((await call(ctx, 'POST', `/v1/admin/webhooks/${id}/replay`, { since })).statusCode, 409);
});

t.test('the event log: filters, afterSequence for filling a gap, cursor pages', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await signUp(ctx.app);
  await ctx.runJobs();
  const gap = await call(ctx, 'GET', `/v1/admin/events?workspaceId=${owner.workspaceId}&afterSequence=1`);
  t.equal(gap.statusCode, 200);
  t.same(gap.json().items.map((e: { type: string; sequence: number }) => [e.sequence, e.type]), [[3, 'workspace.initialized'], [2, 'workspace.created']]);
  const first = await call(ctx, 'GET', '/v1/admin/events?type=account.registered&limit=1');
  const second = await call(ctx, 'GET', `/v1/admin/events?type=account.registered&limit=1&cursor=${first.json().nextCursor}`);
  t.equal(second.json().nextCursor, null);
  t.not(first.json().items[0].id, second.json().items[0].id);
  t.match(second.json().items[0], { workspaceId: owner.workspaceId, sequence: 1, data: { accountId: owner.accountId } }, 'the older one second');
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/admin/events' })).statusCode, 401);
});

t.test('a replay while an attempt is in flight answers 409 instead of sending twice at once', async (t) => {
  const ctx = await testContext(t, { env: { WEBHOOK_TIMEOUT_MS: '20000' } });
  const receiver = await startReceiver(t);
  const { id } = await subscribe(ctx, receiver, { eventTypes: ['workspace.created'] });
  receiver.answers.push('hang');
  await signUp(ctx.app);
  const running = ctx.runJobs();
  while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const [delivery] = await deliveries(ctx, id);
  const busy = await call(ctx, 'POST', `/v1/admin/webhooks/${id}/deliveries/${delivery!.id}/retry`);
  t.match(busy.json(), { status: 409, code: 'delivery_in_progress' });
  await receiver.close(); // the hanging answer breaks off
  await running;
  t.match((await deliveries(ctx, id))[0], { status: 'pending', attempts: 1, delay: 5 });
  t.equal(receiver.received.length, 1);
});
