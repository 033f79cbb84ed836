/**
 * Claim: admin search stays flat as the product grows. Seeds 1,000 workspaces with a realistic
 * spread (bench/seed-admin.ts), measures GET /v1/admin/workspaces for every filter the API offers,
 * alone and in pairs (q on a name fragment and on an email-domain fragment shared by 1 in 20), each
 * client following nextCursor 5 pages deep, 4 connections; grows the same database to 100,000 and
 * measures again. Targets: every combination's p99 < 50 ms at 100,000, and < 2x its own p99 at
 * 1,000 (the baseline, measured in the same run).
 */
import { createPool } from '../src/db/database.js';
import { FRAGMENTS, seedAdminWorkspaces, SPREAD } from './seed-admin.js';
import { benchDatabase, report, runBench, startService } from './support.js';

const SMALL = 1_000;
const LARGE = Number(process.env.BENCH_ADMIN_WORKSPACES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 4;
const PAGES = 5;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef012345';
const DAY = 86_400_000;

/** One representative value per filter for the pairs, and every value for the filters alone. */
const NAME_FRAGMENT = `q=${FRAGMENTS[2]}`;
const EMAIL_FRAGMENT = `q=${FRAGMENTS[13]}-mail`;
const CREATED_FROM = `createdFrom=${encodeURIComponent(new Date(Date.now() - 30 * DAY).toISOString())}`;
const CREATED_TO = `createdTo=${encodeURIComponent(new Date(Date.now() - 300 * DAY).toISOString())}`;
const DIMENSIONS: string[][] = [
  ['trialState=expired', 'trialState=pending_verification', 'trialState=active', 'trialState=ending_soon'],
  ['plan=pro', 'plan=trial'],
  ['status=closed', 'status=active'],
  ['onboarding=completed', 'onboarding=in_progress'],
  [NAME_FRAGMENT, EMAIL_FRAGMENT],
  [CREATED_FROM, CREATED_TO],
  ['subscriptionStatus=past_due', 'subscriptionStatus=active', 'subscriptionStatus=trialing', 'subscriptionStatus=canceled', 'subscriptionStatus=none'],
];

/** Every value alone, then every pair of dimensions with their first values (and q on email too). */
function combinations(): string[] {
  const alone = ['', ...DIMENSIONS.flat()];
  const pairs: string[] = [];
  for (let i = 0; i < DIMENSIONS.length; i++) {
    for (let j = i + 1; j < DIMENSIONS.length; j++) {
      pairs.push(`${DIMENSIONS[i]![0]}&${DIMENSIONS[j]![0]}`);
      if (DIMENSIONS[j]![1] === EMAIL_FRAGMENT) pairs.push(`${DIMENSIONS[i]![0]}&${EMAIL_FRAGMENT}`);
      if (DIMENSIONS[i]![1] === EMAIL_FRAGMENT) pairs.push(`${EMAIL_FRAGMENT}&${DIMENSIONS[j]![0]}`);
    }
  }
  return [...alone, ...pairs];
}

/** p99 in ms of page requests over `seconds`, each client walking `PAGES` pages by cursor, then starting over. */
async function walk(base: string, filter: string, seconds: number): Promise<{ p99: number; requests: number }> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        let cursor: string | null = null;
        for (let page = 0; page < PAGES && performance.now() < until; page++) {
          const url = `${base}/v1/admin/workspaces?limit=25${filter ? `&${filter}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const started = performance.now();
          const response = await fetch(url, { headers });
          const body = (await response.json()) as { nextCursor?: string | null };
          latencies.push(performance.now() - started);
          if (!response.ok) throw new Error(`the list answered ${response.status} for "${filter}": ${JSON.stringify(body)}`);
          cursor = body.nextCursor ?? null;
          if (!cursor) break;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!, requests: latencies.length };
}

async function measure(url: string, size: number): Promise<Map<string, number>> {
  const p99 = new Map<string, number>();
  for (const filter of combinations()) {
    await walk(url, filter, 0.3); // warm the plan cache and the pages this filter reads
    const result = await walk(url, filter, SECONDS);
    p99.set(filter || '(no filter)', result.p99);
    process.stderr.write(`  ${String(size).padStart(6)} ${(filter || '(no filter)').slice(0, 70).padEnd(70)} p99 ${result.p99.toFixed(1)} ms (${result.requests} pages)\n`);
  }
  return p99;
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const service = await startService({ DATABASE_URL: database.url, SMTP_URL: 'smtp://127.0.0.1:1', RUN_WORKER: 'false', ADMIN_TOKEN });
  const pool = createPool(database.url, 4);
  try {
    await seedAdminWorkspaces(pool, SMALL, 0, `seeding ${SMALL} workspaces`);
    const small = await measure(service.url, SMALL);
    await seedAdminWorkspaces(pool, LARGE - SMALL, SMALL, `seeding to ${LARGE} workspaces`);
    const large = await measure(service.url, LARGE);
    const lines: Record<string, number | string> = { 'seeded spread': Object.values(SPREAD).join('; ') };
    let worst = { ratio: 0, p99: 0, ratioFilter: '', p99Filter: '' };
    for (const [filter, smallP99] of small) {
      const largeP99 = large.get(filter)!;
      // Below 5 ms the ratio is noise in the clock, not growth.
      const ratio = largeP99 / Math.max(smallP99, 5);
      lines[`${filter}: p99 ms ${SMALL} / ${LARGE}`] = `${smallP99.toFixed(1)} / ${largeP99.toFixed(1)}`;
      if (ratio > worst.ratio) worst = { ...worst, ratio, ratioFilter: filter };
      if (largeP99 > worst.p99) worst = { ...worst, p99: largeP99, p99Filter: filter };
    }
    lines[`worst p99 ms at ${LARGE} (target < 50)`] = `${worst.p99.toFixed(1)} (${worst.p99Filter})`;
    lines[`worst ratio ${LARGE}/${SMALL} (target < 2)`] = `${worst.ratio.toFixed(2)} (${worst.ratioFilter})`;
    report('bench:admin', lines, {
      ok: worst.p99 < 50 && worst.ratio < 2,
      text: `${combinations().length} filter combinations, ${PAGES} pages deep: worst p99 ${worst.p99.toFixed(1)} ms; worst growth ${worst.ratio.toFixed(2)}x the time at ${SMALL}`,
    });
  } finally {
    await pool.end();
    await service.stop();
    await database.close();
  }
}

runBench(main);
