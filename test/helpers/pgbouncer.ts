import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { freePort } from '../../src/db/embedded.js';

/** A PgBouncer in transaction-pooling mode in front of the test PostgreSQL server. */
export interface PgBouncer {
  /** `directUrl` (a test database's URL) rerouted through PgBouncer. */
  urlFor(directUrl: string): string;
  /** Transactions PgBouncer has carried to `database` (its SHOW STATS). */
  transactions(database: string): Promise<number>;
}

/** Where the pgbouncer binary is: PGBOUNCER_BIN, Debian's /usr/sbin, or PATH. */
export function pgbouncerBinary(): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')];
  const candidates = [process.env.PGBOUNCER_BIN, ...dirs.map((dir) => path.join(dir, 'pgbouncer'))];
  return candidates.find((file): file is string => !!file && existsSync(file));
}

/**
 * Starts pgbouncer with its own ini and userlist in a temporary directory, on a free port, forwarding
 * every database name to the test server (TEST_ADMIN_URL); stopped and removed when the test ends.
 */
export async function startPgBouncer(t: Test, binary: string): Promise<PgBouncer> {
  const server = new URL(process.env.TEST_ADMIN_URL!);
  const user = decodeURIComponent(server.username) || 'postgres';
  const password = decodeURIComponent(server.password);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgbouncer-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Started as root, pgbouncer must switch to an unprivileged user, who must read this directory.
  await chmod(dir, 0o755);
  const port = await freePort();
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const ini = [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432} user=${quote(user)}${password ? ` password=${quote(password)}` : ''}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `admin_users = ${user}`,
    'max_client_conn = 200',
    'default_pool_size = 10',
    ...(process.getuid?.() === 0 ? ['user = postgres'] : []),
  ].join('\n');
  await writeFile(path.join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  await writeFile(path.join(dir, 'pgbouncer.ini'), `${ini}\n`, { mode: 0o644 });

  const child = spawn(binary, [path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  t.teardown(async () => {
    process.off('exit', killOnExit);
    // SIGINT: a safe shutdown that still drops clients that never leave; SIGKILL if it lingers.
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  });
  const giveUpAt = Date.now() + 10_000;
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (output.includes('process up')) done(() => resolve());
      else if (child.exitCode !== null || child.signalCode !== null || Date.now() > giveUpAt) done(() => reject(new Error(`pgbouncer did not start:\n${output}`)));
    }, 20);
    const done = (then: () => void) => {
      clearInterval(poll);
      then();
    };
  });

  const url = (database: string) => {
    const routed = new URL(`postgres://127.0.0.1:${port}/${database}`);
    routed.username = user;
    return routed.toString();
  };
  return {
    urlFor(directUrl) {
      return url(new URL(directUrl).pathname.slice(1));
    },
    async transactions(database) {
      const admin = new pg.Client({ connectionString: url('pgbouncer') });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ database: string; total_xact_count: string }>('show stats');
        return Number(rows.find((row) => row.database === database)?.total_xact_count ?? 0);
      } finally {
        await admin.end();
      }
    },
  };
}
