import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The server secret that links and codes are derived from: TOKEN_SECRET when set, else a random one
 * generated once and kept in `dataDir/token-secret` (mode 0600), so the embedded default keeps every
 * emailed link working across restarts. Every instance of one deployment must share it.
 */
export async function resolveTokenSecret(configured: string | undefined, dataDir: string): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = path.join(dataDir, 'token-secret');
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing?.trim()) return Buffer.from(existing.trim(), 'utf8');
  await mkdir(dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64url');
  // Written whole under a private name, then linked into place: link fails if another process won
  // the race, and then that one's secret (complete by then) is read below.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, `${generated}\n`, { mode: 0o600 });
  try {
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { force: true });
  }
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
}
