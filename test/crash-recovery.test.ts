import { sql } from 'kysely';
import t from 'tap';
import { freePort } from '../src/db/embedded.js';
import { testContext, type TestContext } from './helpers/app.js';
import { PASSWORD, uniqueEmail } from './helpers/factories.js';
import { eventually, startProcess } from './helpers/processes.js';
import { tokenFrom } from './helpers/smtp.js';

/** What a service child process needs: the test's database and SMTP server, and fast crash recovery. */
function serviceEnv(ctx: TestContext, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: ctx.databaseUrl,
    SMTP_URL: ctx.smtp.url,
    LOG_LEVEL: 'info',
    APP_BASE_URL: 'http://app.test',
    TOKEN_SECRET: ctx.config.tokenSecret,
    RATE_LIMIT_REGISTRATIONS_PER_MINUTE: '100000',
    WORKER_HEARTBEAT_SECONDS: '1',
    WORKER_DEAD_AFTER_SECONDS: '2',
    ...extra,
  };
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rows that any registration must have all of or none of: each count must be zero. */
const ORPHANS = {
  'accounts without an owned workspace': sql`select count(*)::int as n from accounts a where not exists (select 1 from workspace_members m where m.account_id = a.id and m.role = 'owner')`,
  'workspaces without members': sql`select count(*)::int as n from workspaces w where not exists (select 1 from workspace_members m where m.workspace_id = w.id)`,
  'workspaces without onboarding progress': sql`select count(*)::int as n from workspaces w where not exists (select 1 from onboarding_progress p where p.workspace_id = w.id)`,
  'accounts without a verification': sql`select count(*)::int as n from accounts a where not exists (select 1 from email_verifications v where v.account_id = a.id)`,
  'accounts without a session': sql`select count(*)::int as n from accounts a where not exists (select 1 from sessions s where s.account_id = a.id)`,
  'accounts without their audit event': sql`select count(*)::int as n from accounts a where not exists (select 1 from audit_events e where e.account_id = a.id and e.action = 'account.registered')`,
};

t.test('kill -9 under sign-up load, then a restart: no orphan row, every 201 has its rows, one verification email per account within 60 s', async (t) => {
  // A slow mail server, so the killed worker certainly holds jobs (and sends) when it dies.
  const ctx = await testContext(t, { beforeAccept: () => pause(300) });
  const db = ctx.runtime.db;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = serviceEnv(ctx, { PORT: String(port) });
  const first = startProcess(t, 'src/main.ts', env);
  await eventually(() => (first.output().includes('Server listening') ? true : undefined));

  const created: { email: string; accountId: string; workspaceId: string }[] = [];
  let unknown = 0;
  let stop = false;
  const client = async () => {
    while (!stop) {
      const email = uniqueEmail('crash');
      try {
        const response = await fetch(`${base}/v1/registrations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' }),
        });
        if (response.status !== 201) throw new Error(`Registration answered ${response.status}: ${await response.text()}`);
        const body = await response.json();
        created.push({ email, accountId: body.account.id, workspaceId: body.workspace.id });
      } catch (error) {
        if (!stop) throw error;
        unknown++; // in flight at the kill: its outcome is unknown to the client
      }
    }
  };
  const clients = Array.from({ length: 4 }, client);
  await eventually(() => (created.length >= 24 ? true : undefined));
  stop = true;
  first.child.kill('SIGKILL');
  await first.exited;
  await Promise.all(clients);
  const held = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where locked_by is not null`.execute(db);
  t.ok(held.rows[0]!.n > 0, `the killed worker held ${held.rows[0]!.n} jobs`);
  t.comment(`${created.length} registrations answered 201, ${unknown} were in flight at the kill`);

  const second = startProcess(t, 'src/main.ts', env);
  const accounts = await db.selectFrom('accounts').select(['id', 'email']).execute();
  // Every account, also those whose client never heard back, gets its email and its workspace set up.
  await eventually(async () => {
    const mailed = accounts.every((a) => ctx.smtp.to(a.email).length > 0);
    const pending = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where task_identifier in ('send_verification_email', 'initialize_workspace')`.execute(db);
    return mailed && pending.rows[0]!.n === 0 ? true : undefined;
  }, 60_000);
  t.pass('within 60 s of the restart, every queued job ran and every account was mailed');
  t.match(second.output(), 'released the jobs of workers that stopped sending heartbeats', 'the dead worker\'s jobs were released by the new one');

  for (const [what, query] of Object.entries(ORPHANS)) {
    t.same((await query.execute(db)).rows[0], { n: 0 }, `no ${what}`);
  }
  const uninitialized = await db.selectFrom('workspaces').select('id').where('initialized_at', 'is', null).execute();
  t.same(uninitialized, [], 'every workspace was initialised');
  const ids = new Set(accounts.map((a) => a.id));
  t.ok(created.every((c) => ids.has(c.accountId)), 'every 201 has its account');
  const workspaces = new Set((await db.selectFrom('workspaces').select('id').execute()).map((w) => w.id));
  t.ok(created.every((c) => workspaces.has(c.workspaceId)), 'and its workspace');

  const perAccount = accounts.map((a) => {
    const mails = ctx.smtp.to(a.email);
    return { messages: new Set(mails.map((m) => m.messageId)).size, links: new Set(mails.map(tokenFrom)).size };
  });
  t.ok(
    perAccount.every((p) => p.messages === 1 && p.links === 1),
    'every account received one verification email (a copy resent after an unknown outcome carries the same Message-ID and link)',
  );
  const copies = accounts.reduce((sum, a) => sum + ctx.smtp.to(a.email).length, 0);
  t.comment(`${accounts.length} accounts, ${copies} messages received`);

  const sample = ctx.smtp.to(created[0]!.email)[0]!;
  const confirmed = await fetch(`${base}/v1/email-verifications/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: tokenFrom(sample) }),
  });
  t.equal(confirmed.status, 200, 'its link works');
});

t.test('a worker killed during a slow SMTP send: another worker delivers the email once, within 60 s', async (t) => {
  let stallStarted: () => void = () => {};
  const stalling = new Promise<void>((resolve) => (stallStarted = resolve));
  let stalls = 1;
  // The first message is received whole, then the server never answers: the send hangs in DATA.
  const ctx = await testContext(t, {
    beforeAccept: async () => {
      if (stalls-- <= 0) return;
      stallStarted();
      await new Promise(() => {});
    },
  });
  const db = ctx.runtime.db;
  const email = uniqueEmail('stalled');
  const registered = await ctx.app.inject({ method: 'POST', url: '/v1/registrations', payload: { email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' } });
  t.equal(registered.statusCode, 201);

  const doomed = startProcess(t, 'src/worker-main.ts', serviceEnv(ctx));
  await stalling;
  const [doomedWorker] = await db.selectFrom('worker_heartbeats').select('worker_id').execute();
  const locked = await sql<{ locked_by: string }>`select locked_by from graphile_worker.jobs where task_identifier = 'send_verification_email'`.execute(db);
  t.equal(locked.rows[0]?.locked_by, doomedWorker?.worker_id, 'the email job is locked by the stalled worker');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  t.same(ctx.smtp.to(email), [], 'nothing was delivered: the server never answered the killed send');

  const rescuer = startProcess(t, 'src/worker-main.ts', serviceEnv(ctx));
  await eventually(async () => {
    const pending = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'send_verification_email'`.execute(db);
    return ctx.smtp.to(email).length > 0 && pending.rows[0]!.n === 0 ? true : undefined;
  }, 60_000);
  t.pass('delivered within 60 s of the kill');
  t.equal(ctx.smtp.to(email).length, 1, 'once');
  t.match(rescuer.output(), doomedWorker!.worker_id, 'by the other worker, which released the killed one\'s job');
  const verification = await db.selectFrom('email_verifications').select('sent_at').executeTakeFirstOrThrow();
  t.ok(verification.sent_at, 'and recorded as sent');
  const confirmed = await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token: tokenFrom(ctx.smtp.to(email)[0]!) } });
  t.equal(confirmed.statusCode, 200, 'its link works');
});
