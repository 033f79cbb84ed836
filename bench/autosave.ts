/**
 * Claim: an auto-save costs little more than the single-row UPDATE commit it boils down to.
 * Drives PATCH /v1/workspaces/:id/onboarding/draft with autocannon at 32 connections over 256
 * workspaces (taken in turn, each save carrying the version its last save returned), and measures single-row UPDATE
 * commits per second on the same database at the same concurrency in the same run.
 * Targets: ratio >= 0.5 and p99 < 25 ms.
 */
import { createPool } from '../src/db/database.js';
import { seedOwners, type SeededOwner } from './seed.js';
import { benchDatabase, benchSaves, runBench, startService, throughput } from './support.js';

const CONNECTIONS = 32;
const PER_CONNECTION = 8;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function updateBaseline(url: string, owners: SeededOwner[]): Promise<number> {
  const pool = createPool(url, CONNECTIONS);
  let i = 0;
  const rate = await throughput(SECONDS / 2, CONNECTIONS, () =>
    pool.query('update onboarding_progress set updated_at = now() where workspace_id = $1', [owners[i++ % owners.length]!.workspaceId]),
  );
  await pool.end();
  return rate;
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: 'smtp://127.0.0.1:1', RUN_WORKER: 'false', ONBOARDING_SAVES_PER_MINUTE: '1000000' });
  const pool = createPool(database.url, 4);
  try {
    const owners = await seedOwners(pool, CONNECTIONS * PER_CONNECTION, { label: 'seeding workspaces' });
    await benchSaves('bench:autosave', {
      url: service.url,
      pid: service.pid,
      connections: CONNECTIONS,
      seconds: SECONDS,
      baseline: () => updateBaseline(database.url, owners),
      targets: owners.map((owner) => ({
        id: owner.workspaceId,
        path: `/v1/workspaces/${owner.workspaceId}/onboarding/draft`,
        cookie: owner.cookie,
        body: (turn, version) => ({ data: { company: 'Acme', turn, notes: 'x'.repeat(200) }, currentStep: 'first_integration', version }),
      })),
    });
  } finally {
    await pool.end();
    await service.stop();
    await database.close();
  }
}

runBench(main);
