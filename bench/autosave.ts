/**
 * Claim: an auto-save costs little more than the single-row UPDATE commit it boils down to.
 * Drives PATCH /v1/workspaces/:id/onboarding/draft with autocannon at 32 connections over 256
 * workspaces (taken in turn, each save carrying the version its last save returned), and measures single-row UPDATE
 * commits per second on the same database at the same concurrency in the same run.
 * Targets: ratio >= 0.5 and p99 < 25 ms.
 */
import { createPool } from '../src/db/database.js';
import { seedOwners, type SeededOwner } from './seed.js';
import { benchDatabase, cpuPerOperation, cpuSeconds, load, report, startService, throughput, runBench } from './support.js';

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
    const baselineBefore = await updateBaseline(database.url, owners);
    // autocannon rebuilds the context for every request, so versions live here; workspaces are taken
    // in turn, and with 256 of them and 32 requests in flight a workspace's last answer is back before
    // its next save is built.
    const versions = new Map<string, number>();
    let turn = 0;
    let firstFailure = '';
    const cpuBefore = await cpuSeconds(service.pid);
    const saves = await load({
      url: service.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          setupRequest: (request, context) => {
            const owner = owners[turn++ % owners.length]!;
            (context as { workspaceId?: string }).workspaceId = owner.workspaceId;
            return {
              ...request,
              method: 'PATCH',
              path: `/v1/workspaces/${owner.workspaceId}/onboarding/draft`,
              headers: { 'content-type': 'application/json', cookie: owner.cookie },
              body: JSON.stringify({ data: { company: 'Acme', turn, notes: 'x'.repeat(200) }, currentStep: 'first_integration', version: versions.get(owner.workspaceId) ?? 0 }),
            };
          },
          onResponse: (status, body, context) => {
            const { workspaceId } = context as { workspaceId?: string };
            if (status === 200 && workspaceId) versions.set(workspaceId, JSON.parse(body).version);
            else if (!firstFailure) firstFailure = `${status} ${body.slice(0, 200)}`;
          },
        },
      ],
    });
    const cpuAfter = await cpuSeconds(service.pid);
    const cpu = cpuPerOperation(cpuBefore, cpuAfter, saves.rps * SECONDS);
    if (firstFailure) process.stderr.write(`first failed save: ${firstFailure}\n`);
    const baselineAfter = await updateBaseline(database.url, owners);
    const baseline = (baselineBefore + baselineAfter) / 2;
    const ratio = saves.rps / baseline;
    report(
      'bench:autosave',
      {
        'saves/s (HTTP, 32 conns)': saves.rps,
        'save p50 ms': saves.p50,
        'save p99 ms (target < 25)': saves.p99,
        'non-2xx answers': saves.non2xx,
        'service CPU ms / save': cpu.service,
        'PostgreSQL CPU ms / save': cpu.postgres,
        'single-row UPDATE commits/s (32)': baseline,
        'ratio (target >= 0.5)': ratio,
      },
      { ok: ratio >= 0.5 && saves.p99 < 25 && saves.non2xx === 0, text: `saves/s is ${(ratio * 100).toFixed(0)}% of bare UPDATE commits/s; p99 ${saves.p99} ms` },
    );
  } finally {
    await pool.end();
    await service.stop();
    await database.close();
  }
}

runBench(main);
