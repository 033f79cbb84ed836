import { sql } from 'kysely';
import pino from 'pino';
import t from 'tap';
import type { Db } from '../../src/db/database.js';
import { startWorker } from '../../src/jobs/worker.js';
import { testContext } from '../helpers/app.js';
import { signUp } from '../helpers/factories.js';
import { eventually } from '../helpers/processes.js';

/**
 * Locks every queued job as `workerId` would while running it, and records (or not) its heartbeat
 * `heartbeatAgeSeconds` ago: a worker that took its jobs and then fell silent. graphile-worker
 * 0.17 has no public function that locks a job, so this writes its private table.
 */
async function lockJobsAs(db: Db, workerId: string, options: { heartbeatAgeSeconds?: number; lockedAgeSeconds?: number } = {}) {
  await sql`update graphile_worker._private_jobs
            set locked_by = ${workerId}, locked_at = now() - make_interval(secs => ${options.lockedAgeSeconds ?? 0})
            where locked_by is null`.execute(db);
  if (options.heartbeatAgeSeconds !== undefined) {
    await db
      .insertInto('worker_heartbeats')
      .values({ worker_id: workerId, hostname: 'crashed-host', pid: 1, last_seen_at: sql`now() - make_interval(secs => ${options.heartbeatAgeSeconds})` })
      .execute();
  }
}

const lockedBy = async (db: Db) =>
  (await sql<{ locked_by: string | null }>`select locked_by from graphile_worker.jobs order by id`.execute(db)).rows.map((r) => r.locked_by);

t.test('the jobs of a worker silent for WORKER_DEAD_AFTER_SECONDS are released and run again', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await signUp(ctx.app); // one job each (the workspace is initialised in the sign-up statement): two jobs
  const db = ctx.runtime.db;
  await lockJobsAs(db, 'pool-silent', { heartbeatAgeSeconds: 25 });

  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 0, 'a locked job waits while its worker may be alive');
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: [], jobs: 0 }, 'silent for 25 s of the default 30: alive');
  t.same(await lockedBy(db), ['pool-silent', 'pool-silent']);

  await sql`update worker_heartbeats set last_seen_at = now() - interval '31 seconds'`.execute(db);
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: ['pool-silent'], jobs: 2 }, 'silent for 31 s: dead');
  t.same(await lockedBy(db), [null, null], 'its jobs are unlocked');
  t.same(await db.selectFrom('worker_heartbeats').select('worker_id').execute(), [], 'and its heartbeat is gone');

  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 1, 'the verification email went out from a live worker');
  const workspace = await db.selectFrom('workspaces').select('initialized_at').where('id', '=', owner.workspaceId).executeTakeFirstOrThrow();
  t.ok(workspace.initialized_at, 'and the workspace was initialised');
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: [], jobs: 0 }, 'a second sweep finds nothing');
});

t.test('a locker that never recorded a heartbeat is dead once its lock is WORKER_DEAD_AFTER_SECONDS old', async (t) => {
  const ctx = await testContext(t, { env: { WORKER_DEAD_AFTER_SECONDS: '20', WORKER_HEARTBEAT_SECONDS: '5' } });
  await signUp(ctx.app);
  await signUp(ctx.app);
  const db = ctx.runtime.db;
  await lockJobsAs(db, 'pool-killed-before-its-first-beat', { lockedAgeSeconds: 15 });
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: [], jobs: 0 }, 'a 15 s old lock of the 20 allowed stays');
  await sql`update graphile_worker._private_jobs set locked_at = now() - interval '21 seconds'`.execute(db);
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: ['pool-killed-before-its-first-beat'], jobs: 2 });
  t.same(await lockedBy(db), [null, null]);
});

t.test('a live worker\'s old locks are never released, however long its jobs run', async (t) => {
  const ctx = await testContext(t);
  await signUp(ctx.app);
  await signUp(ctx.app);
  const db = ctx.runtime.db;
  await lockJobsAs(db, 'pool-alive', { heartbeatAgeSeconds: 1, lockedAgeSeconds: 3600 });
  t.same(await ctx.runtime.services.workers.releaseDead(), { workerIds: [], jobs: 0 });
  t.same(await lockedBy(db), ['pool-alive', 'pool-alive']);
});

t.test('a running worker keeps its heartbeat under the id its jobs are locked with, releases a dead worker\'s jobs by itself, and removes its heartbeat when it stops', async (t) => {
  let releaseSmtp: () => void = () => {};
  const smtpHeld = new Promise<void>((resolve) => (releaseSmtp = resolve));
  let stalled = false;
  const ctx = await testContext(t, {
    env: { WORKER_HEARTBEAT_SECONDS: '1', WORKER_DEAD_AFTER_SECONDS: '2' },
    // The second email waits in DATA, so its job is locked while the test looks.
    beforeAccept: async () => {
      if (!stalled) return;
      await smtpHeld;
    },
  });
  const db = ctx.runtime.db;
  const crashed = await signUp(ctx.app);
  await lockJobsAs(db, 'pool-crashed', { heartbeatAgeSeconds: 3 });

  const worker = await startWorker({ pool: ctx.runtime.pool, services: ctx.runtime.services, log: pino({ level: 'silent' }), concurrency: 2, heartbeatSeconds: 1 });
  let stopped = false;
  t.teardown(async () => {
    releaseSmtp();
    if (!stopped) await worker.stop();
  });
  t.match(worker.workerId, /^pool-/);
  await eventually(() => (ctx.smtp.to(crashed.email).length > 0 ? true : undefined), 20_000);
  t.equal(ctx.smtp.to(crashed.email).length, 1, 'the crashed worker\'s email was sent by the live one');

  const beats = await db.selectFrom('worker_heartbeats').select(['worker_id', 'last_seen_at']).execute();
  t.same(beats.map((b) => b.worker_id), [worker.workerId], 'one heartbeat: the live worker\'s (the dead one\'s was removed)');
  const first = beats[0]!.last_seen_at;
  await eventually(async () => {
    const row = await db.selectFrom('worker_heartbeats').select('last_seen_at').where('worker_id', '=', worker.workerId).executeTakeFirst();
    return row && row.last_seen_at > first ? true : undefined;
  }, 10_000);
  t.pass('the heartbeat is refreshed on its interval');

  stalled = true;
  await signUp(ctx.app);
  const locker = await eventually(async () => {
    const rows = await sql<{ locked_by: string }>`select locked_by from graphile_worker.jobs where task_identifier = 'send_verification_email' and locked_by is not null`.execute(db);
    return rows.rows[0]?.locked_by;
  }, 10_000);
  t.equal(locker, worker.workerId, 'graphile-worker locks jobs with the id the heartbeat is kept under');
  releaseSmtp();

  await worker.stop();
  stopped = true;
  t.same(await db.selectFrom('worker_heartbeats').select('worker_id').execute(), [], 'a clean stop removes the heartbeat');
});
