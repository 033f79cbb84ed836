/**
 * Claim: the navigation-time status check is about as cheap as a bare route. Measures
 * GET /v1/me/onboarding-status (cached, with session cookie) against a bare Fastify JSON route in its
 * own process, both with autocannon at the same connections, in the same run. Target ratio >= 0.5.
 */
import { spawn } from 'node:child_process';
import { createPool } from '../src/db/database.js';
import { freePort } from '../src/db/embedded.js';
import { seedOwners } from './seed.js';
import { benchDatabase, load, report, startService, runBench } from './support.js';

const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** A bare Fastify hello route in a process of its own, as the baseline. */
async function startBareFastify(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const code = `import Fastify from 'fastify'; const app = Fastify();
    app.get('/hello', async () => ({ workspaces: [{ id: '00000000-0000-0000-0000-000000000000', status: 'in_progress' }] }));
    await app.listen({ port: ${port}, host: '127.0.0.1' });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${url}/hello`).then((r) => r.ok, () => false)); i++) {
    if (i > 300) throw new Error('the bare server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, stop: () => child.kill() };
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: 'smtp://127.0.0.1:1', RUN_WORKER: 'false' });
  const bare = await startBareFastify();
  const pool = createPool(database.url, 4);
  try {
    const owners = await seedOwners(pool, CONNECTIONS, { label: 'seeding accounts' });
    let turn = 0;
    const options = { connections: CONNECTIONS, duration: SECONDS };
    const baselineBefore = await load({ ...options, url: `${bare.url}/hello` });
    const status = await load({
      ...options,
      url: `${service.url}/v1/me/onboarding-status`,
      requests: [{ setupRequest: (request) => ({ ...request, headers: { cookie: owners[turn++ % owners.length]!.cookie } }) }],
    });
    const baselineAfter = await load({ ...options, url: `${bare.url}/hello` });
    const baseline = (baselineBefore.rps + baselineAfter.rps) / 2;
    const ratio = status.rps / baseline;
    report(
      'bench:status',
      {
        'status checks/s (32 conns)': status.rps,
        'status p50 ms': status.p50,
        'status p99 ms': status.p99,
        'non-2xx answers': status.non2xx,
        'bare Fastify route req/s (32 conns)': baseline,
        'ratio (target >= 0.5)': ratio,
      },
      { ok: ratio >= 0.5 && status.non2xx === 0, text: `the status check runs at ${(ratio * 100).toFixed(0)}% of a bare route` },
    );
  } finally {
    await pool.end();
    bare.stop();
    await service.stop();
    await database.close();
  }
}

runBench(main);
