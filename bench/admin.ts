/**
 * Claim: the admin list stays fast as the product grows. Seeds workspaces with owners and members
 * (with a progress bar), measures GET /v1/admin/workspaces under several filters at 1,000 workspaces,
 * grows the same database to 100,000 and measures again. Targets: p99 < 50 ms for a page, and p99 at
 * 100,000 under 2x p99 at 1,000 (the baseline, measured in the same run).
 */
import { createPool } from '../src/db/database.js';
import { seedOwners } from './seed.js';
import { benchDatabase, load, report, startService, runBench } from './support.js';

const SMALL = 1_000;
const LARGE = Number(process.env.BENCH_ADMIN_WORKSPACES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef012345';
const FILTERS = [
  '',
  'trialState=ending_soon',
  'trialState=expired&plan=trial',
  'status=active&onboarding=in_progress',
  'q=globex',
  `createdFrom=${encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString())}&onboarding=completed`,
];

async function measure(url: string): Promise<Record<string, number>> {
  const p99: Record<string, number> = {};
  for (const filter of FILTERS) {
    const result = await load({
      url: `${url}/v1/admin/workspaces?limit=25${filter ? `&${filter}` : ''}`,
      connections: 4,
      duration: SECONDS,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (result.non2xx > 0) throw new Error(`the list answered ${result.non2xx} errors for "${filter}"`);
    p99[filter || '(no filter)'] = result.p99;
  }
  return p99;
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: 'smtp://127.0.0.1:1', RUN_WORKER: 'false', ADMIN_TOKEN });
  const pool = createPool(database.url, 4);
  try {
    await seedOwners(pool, SMALL, { extraMembers: 2, spreadDays: 90, label: `seeding ${SMALL} workspaces` });
    const small = await measure(service.url);
    await seedOwners(pool, LARGE - SMALL, { extraMembers: 2, spreadDays: 90, label: `seeding to ${LARGE} workspaces` });
    const large = await measure(service.url);
    const lines: Record<string, number> = {};
    let worstRatio = 0;
    let worstP99 = 0;
    for (const filter of Object.keys(small)) {
      lines[`p99 ms at ${SMALL}: ${filter}`] = small[filter]!;
      lines[`p99 ms at ${LARGE}: ${filter}`] = large[filter]!;
      // Below 5 ms the ratio is noise in the clock, not growth.
      worstRatio = Math.max(worstRatio, large[filter]! / Math.max(small[filter]!, 5));
      worstP99 = Math.max(worstP99, large[filter]!);
    }
    lines['worst p99 ms at the large size (target < 50)'] = worstP99;
    lines['worst p99 ratio large/small (target < 2)'] = worstRatio;
    report('bench:admin', lines, { ok: worstP99 < 50 && worstRatio < 2, text: `worst page p99 ${worstP99} ms; ${worstRatio.toFixed(2)}x the time at ${SMALL}` });
  } finally {
    await pool.end();
    await service.stop();
    await database.close();
  }
}

runBench(main);
