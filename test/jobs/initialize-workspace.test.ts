import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { signUp } from '../helpers/factories.js';

/** A stand-in for the host product's provisioning endpoint: records calls, answers what it is told. */
async function provisionStandIn(t: Parameters<typeof testContext>[0]) {
  const calls: { headers: http.IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  let status = 200;
  const server = http.createServer((request, response) => {
    let data = '';
    request.on('data', (chunk) => (data += chunk));
    request.on('end', () => {
      calls.push({ headers: request.headers, body: JSON.parse(data) });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`,
    calls,
    answer: (code: number) => (status = code),
  };
}

/** The workspace has its default settings and initialized_at, shown by the API; initialising it again keeps both. */
async function initialisedOnce(t: Test, ctx: TestContext, owner: { workspaceId: string; cookie: string }) {
  const workspace = await ctx.runtime.db.selectFrom('workspaces').selectAll().executeTakeFirstOrThrow();
  t.ok(workspace.initialized_at, 'initialized');
  t.match(workspace.settings, { locale: 'en', timezone: 'UTC' });
  const view = (await ctx.app.inject({ method: 'GET', url: `/v1/workspaces/${owner.workspaceId}`, headers: { cookie: owner.cookie } })).json();
  t.equal(view.initializedAt, workspace.initialized_at!.toISOString());
  await ctx.runtime.services.provisioning.initialize(owner.workspaceId);
  const again = await ctx.runtime.db.selectFrom('workspaces').select('initialized_at').executeTakeFirstOrThrow();
  t.same(again.initialized_at, workspace.initialized_at, 'initialising again keeps the first time');
}

t.test('without WORKSPACE_PROVISION_URL, sign-up initialises the workspace in its statement, and initialising again changes nothing', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const jobs = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'initialize_workspace'`.execute(ctx.runtime.db);
  t.equal(jobs.rows[0]!.n, 0, 'no job queued');
  await initialisedOnce(t, ctx, owner);
  const initialized = await sql<{ n: number }>`select count(*)::int as n from events where type = 'workspace.initialized'`.execute(ctx.runtime.db);
  t.equal(initialized.rows[0]!.n, 1, 'one workspace.initialized event');
});

t.test('the initialization job provisions default settings and sets initialized_at once', async (t) => {
  const standIn = await provisionStandIn(t);
  const ctx = await testContext(t, { env: { WORKSPACE_PROVISION_URL: standIn.url } });
  const owner = await signUp(ctx.app);
  const before = await ctx.runtime.db.selectFrom('workspaces').select(['initialized_at', 'settings']).executeTakeFirstOrThrow();
  t.same(before, { initialized_at: null, settings: null }, 'left to the job when the host product must be called');
  await ctx.runJobs();
  await initialisedOnce(t, ctx, owner);
  t.equal(standIn.calls.length, 1, 'the host product was called once');
});

t.test('with WORKSPACE_PROVISION_URL, the host product is called; a failure leaves the workspace uninitialised and retries', async (t) => {
  const standIn = await provisionStandIn(t);
  const ctx = await testContext(t, { env: { WORKSPACE_PROVISION_URL: standIn.url } });
  standIn.answer(503);
  const owner = await signUp(ctx.app, { workspaceName: 'Acme' });
  await ctx.runJobs();
  t.equal(standIn.calls.length, 1);
  t.match(standIn.calls[0]!.body, { workspaceId: owner.workspaceId, name: 'Acme', plan: 'trial' });
  t.equal(standIn.calls[0]!.headers['idempotency-key'], `workspace-init:${owner.workspaceId}`);
  const failed = await ctx.runtime.db.selectFrom('workspaces').select('initialized_at').executeTakeFirstOrThrow();
  t.equal(failed.initialized_at, null, 'not initialised after a failure');
  const { rows } = await sql<{ attempts: number; backoff_seconds: number }>`
    select attempts, extract(epoch from run_at - updated_at)::float8 as backoff_seconds from graphile_worker.jobs`.execute(ctx.runtime.db);
  const job = rows[0]!;
  t.equal(job.attempts, 1, 'the job failed once and stays queued');
  // Measured against the failure's own time, not the test's clock, so a slow machine cannot fail it.
  t.ok(job.backoff_seconds >= 2, `retry is scheduled with backoff (${job.backoff_seconds.toFixed(1)} s after the failure)`);

  standIn.answer(200);
  await ctx.runtime.services.provisioning.initialize(owner.workspaceId);
  const done = await ctx.runtime.db.selectFrom('workspaces').select('initialized_at').executeTakeFirstOrThrow();
  t.ok(done.initialized_at, 'the retry initialises it');
  await ctx.runtime.services.provisioning.initialize(owner.workspaceId);
  t.equal(standIn.calls.length, 2, 'an initialised workspace is not provisioned again');
});
