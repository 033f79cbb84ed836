/**
 * Claim: a staged sign-up's auto-save costs little more than the single-row UPDATE commit it boils
 * down to. Starts 256 flows through the API, then drives PATCH /v1/signup-flows/current with
 * autocannon at 32 connections (flows taken in turn, each save carrying the version its last save
 * returned), and measures single-row UPDATE commits per second on signup_flows on the same database
 * at the same concurrency in the same run, before and after. Targets: ratio >= 0.5 and p99 < 25 ms.
 */
import { createPool } from '../src/db/database.js';
import { benchDatabase, benchSaves, runBench, startService, throughput } from './support.js';

const CONNECTIONS = 32;
const PER_CONNECTION = 8;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface SeededFlow {
  id: string;
  cookie: string;
}

/** Starts flows through the API, as browsers would. */
async function startFlows(url: string, count: number): Promise<SeededFlow[]> {
  const flows: SeededFlow[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}/v1/signup-flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (response.status !== 201) throw new Error(`starting a flow failed: ${response.status} ${await response.text()}`);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('signup_flow='))!.split(';')[0]!;
    flows.push({ id: ((await response.json()) as { id: string }).id, cookie });
  }
  return flows;
}

async function updateBaseline(url: string, flows: SeededFlow[]): Promise<number> {
  const pool = createPool(url, CONNECTIONS);
  let i = 0;
  const rate = await throughput(SECONDS / 2, CONNECTIONS, () => pool.query('update signup_flows set updated_at = now() where id = $1', [flows[i++ % flows.length]!.id]));
  await pool.end();
  return rate;
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({
    DATABASE_URL: database.url,
    SMTP_URL: 'smtp://127.0.0.1:1',
    RUN_WORKER: 'false',
    SIGNUP_SAVES_PER_MINUTE: '1000000',
    RATE_LIMIT_SIGNUP_FLOWS_PER_MINUTE: '1000000',
  });
  try {
    const flows = await startFlows(service.url, CONNECTIONS * PER_CONNECTION);
    await benchSaves('bench:signup-flow', {
      url: service.url,
      pid: service.pid,
      connections: CONNECTIONS,
      seconds: SECONDS,
      baseline: () => updateBaseline(database.url, flows),
      targets: flows.map((flow) => ({
        id: flow.id,
        path: '/v1/signup-flows/current',
        cookie: flow.cookie,
        body: (turn, version) => ({
          version,
          company: { name: `Acme ${turn}` },
          address: { line1: '1 Main St', city: 'Albany', region: 'NY', postalCode: '12207', country: 'US' },
        }),
      })),
    });
  } finally {
    await service.stop();
    await database.close();
  }
}

runBench(main);
