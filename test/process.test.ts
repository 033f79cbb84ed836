import { spawn } from 'node:child_process';
import net from 'node:net';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import t, { type Test } from 'tap';
import { freePort } from '../src/db/embedded.js';
import { testContext } from './helpers/app.js';
import { PASSWORD, uniqueEmail } from './helpers/factories.js';
import { alive, eventually, logged, startNpm, startProcess } from './helpers/processes.js';

t.test('npm start with no DATABASE_URL and no SMTP_URL: embedded PostgreSQL, dev mailbox, graceful SIGTERM', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-start-'));
  await chmod(dataDir, 0o755);
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', APP_BASE_URL: 'http://localhost:5173' };
  delete env.DATABASE_URL;
  delete env.SMTP_URL;
  const { child, exited, output } = startProcess(t, 'src/main.ts', env);

  await logged(output, 'Server listening');
  t.match(output(), 'embedded PostgreSQL started');
  const base = `http://127.0.0.1:${port}`;
  const register = (email: string) =>
    fetch(`${base}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' }),
    });

  const email = uniqueEmail();
  t.equal((await register(email)).status, 201);
  const mailDir = path.join(dataDir, 'mail');
  const files = await eventually(async () => {
    const names = (await readdir(mailDir).catch(() => [])).filter((name) => name.endsWith('.eml'));
    return names.length > 0 ? names : undefined;
  });
  // The file can be listed before its last write lands: wait for the whole message.
  const eml = await eventually(async () => {
    const text = await readFile(path.join(mailDir, files[0]!), 'utf8');
    return text.includes('verify-email?token=') ? text : undefined;
  });
  t.match(eml, `To: ${email}`);
  t.match(eml, 'http://localhost:5173/verify-email?token=');
  // The log line follows the saved files; wait for it rather than race it.
  const linkLine = /"link":"http:\/\/localhost:5173\/verify-email\?token=/;
  await eventually(() => (linkLine.test(output()) ? true : undefined));
  t.match(output(), linkLine, 'the link is printed to the log');

  // Requests the server has started on must finish even though SIGTERM arrives meanwhile.
  const arrivedBefore = output().split('incoming request').length;
  const inFlight = Array.from({ length: 4 }, () => register(uniqueEmail()));
  await eventually(() => (output().split('incoming request').length >= arrivedBefore + 4 ? true : undefined));
  child.kill('SIGTERM');
  const statuses = (await Promise.all(inFlight)).map((r) => r.status);
  t.same(statuses, [201, 201, 201, 201], 'in-flight requests completed');
  t.equal(await exited, 0, 'clean exit');
  t.match(output(), 'shutting down');
});

t.test('SIGTERM while a departed client\'s registration is still running: it finishes before the pool closes', async (t) => {
  const ctx = await testContext(t);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATABASE_URL: ctx.databaseUrl, SMTP_URL: ctx.smtp.url, LOG_LEVEL: 'info', RUN_WORKER: 'false' };
  const { child, exited, output } = startProcess(t, 'src/main.ts', env);
  await logged(output, 'Server listening');

  // The registration is held at its first statement (the idempotency-key lookup) by a lock the test
  // takes, so its body has certainly been read and its handler is running when the client hangs up
  // and SIGTERM arrives; the lock is let go only after both.
  const holder = new pg.Client({ connectionString: ctx.databaseUrl });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('begin');
  await holder.query('lock table idempotency_keys in access exclusive mode');
  const email = uniqueEmail();
  const body = JSON.stringify({ email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' });
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /v1/registrations HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nidempotency-key: departed-${email}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // Read from another connection: inside the holder's transaction pg_stat_activity is a snapshot.
  await eventually(async () => {
    const waiting = await sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(ctx.runtime.db);
    return waiting.rows.length > 0 ? true : undefined;
  });
  socket.destroy();
  child.kill('SIGTERM');
  await logged(output, 'shutting down');
  await holder.query('commit');

  t.equal(await exited, 0, 'clean exit');
  t.notMatch(output(), 'Cannot use a pool after calling end');
  t.notMatch(output(), '"level":50', 'no error logged');
  const account = await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirst();
  t.ok(account, 'the registration completed although its client left');
});

t.test('npm run worker: the worker alone processes jobs from the shared database and stops on SIGTERM', async (t) => {
  const ctx = await testContext(t);
  const email = uniqueEmail();
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/registrations', payload: { email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' } })).statusCode, 201);

  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: ctx.databaseUrl, SMTP_URL: ctx.smtp.url, LOG_LEVEL: 'info' };
  const { child, exited, output } = startProcess(t, 'src/worker-main.ts', env);

  const [mail] = await eventually(() => (ctx.smtp.to(email).length > 0 ? ctx.smtp.to(email) : undefined));
  t.equal(mail!.subject, 'Confirm your email address', 'the separate worker sent the verification email');
  await eventually(async () => {
    const row = await ctx.runtime.db.selectFrom('workspaces').select('initialized_at').executeTakeFirst();
    return row?.initialized_at ?? undefined;
  });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit');
  t.match(output(), 'worker started');
});

t.test('npm run worker refuses to start without DATABASE_URL', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 1);
  t.match(output, 'npm run worker needs DATABASE_URL');
});

/** Stops within 10 seconds, exits 0 with a final "stopped" line and no error-level line, leaving no process of its group. */
async function checkCleanStop(t: Test, run: ReturnType<typeof startNpm>, others: number[] = []) {
  const code = await Promise.race([run.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref())]);
  t.equal(code, 0, 'npm exits 0 within 10 seconds');
  const lines = run.output().trim().split('\n').filter((line) => line.startsWith('{'));
  t.match(JSON.parse(lines.at(-1)!), { msg: 'stopped' }, 'the last log line says it stopped');
  t.same(lines.filter((line) => /"level":(50|60)/.test(line)), [], 'no error-level line');
  t.notOk(alive(-run.group), 'no process of the group is left');
  for (const pid of others) t.notOk(await eventually(() => (alive(pid) ? undefined : false), 5000), `process ${pid} is gone`);
}

for (const [how, stop] of [
  ['SIGTERM to the npm process', (run: ReturnType<typeof startNpm>) => run.child.kill('SIGTERM')],
  ['SIGINT to its process group (Ctrl-C)', (run: ReturnType<typeof startNpm>) => process.kill(-run.group, 'SIGINT')],
] as const) {
  t.test(`npm start (embedded PostgreSQL) stops cleanly on ${how}`, async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-signal-'));
    await chmod(dataDir, 0o755);
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    delete env.SMTP_URL;
    const run = startNpm(t, ['start'], env);
    await logged(run.output, 'Server listening');
    const postgresPid = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    t.ok(alive(postgresPid), 'embedded PostgreSQL runs');
    t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    stop(run);
    await checkCleanStop(t, run, [postgresPid]);
    await t.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'nothing answers on the port');
  });

  t.test(`npm run worker stops cleanly on ${how}; .env supplies DATABASE_URL and the real environment wins`, async (t) => {
    const ctx = await testContext(t);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-envfile-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const envFile = path.join(dir, '.env');
    await writeFile(envFile, `DATABASE_URL=${ctx.databaseUrl}\nSMTP_URL=${ctx.smtp.url}\nLOG_LEVEL=silent\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, ENV_FILE: envFile, LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    delete env.SMTP_URL;
    const run = startNpm(t, ['run', 'worker'], env);
    await logged(run.output, 'worker started');
    stop(run);
    await checkCleanStop(t, run);
  });
}
