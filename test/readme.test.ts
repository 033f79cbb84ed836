import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { freePort } from '../src/db/embedded.js';
import { eventually, startNpm } from './helpers/processes.js';

/** The shell block of the README section named `heading`. */
async function shellBlock(heading: string): Promise<string> {
  const readme = await readFile('README.md', 'utf8');
  const section = readme.indexOf(`## ${heading}`);
  const start = readme.indexOf('```sh\n', section) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('```\n', start));
}

t.test('the README walk-through runs top to bottom as written against npm start', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-readme-'));
  await chmod(dataDir, 0o755);
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  for (const name of ['DATABASE_URL', 'SMTP_URL', 'NODE_ENV', 'APP_BASE_URL', 'RESEND_COOLDOWN_SECONDS']) delete env[name];
  const server = startNpm(t, ['start'], env);
  await eventually(() => (server.output().includes('Server listening') ? true : undefined), 60_000);

  const walk = await shellBlock('A walk through with curl');
  t.match(walk, /^API=http:\/\/127\.0\.0\.1:3000$/m, 'the walk-through names the default address');
  const script = path.join(dataDir, 'walk.sh');
  // Only the address changes: this run listens on a free port.
  await writeFile(script, `set -eu\n${walk.replace(/^API=http:\/\/127\.0\.0\.1:3000$/m, `API=http://127.0.0.1:${port}`)}`);
  const { stdout } = await promisify(execFile)('bash', [script], { cwd: dataDir, timeout: 120_000, maxBuffer: 10 * 1024 * 1024 });

  const codes = [...stdout.matchAll(/"code":"([a-z_]+)"/g)].map((match) => match[1]);
  t.same(codes, ['already_verified', 'sign_in_required', 'resend_too_soon', 'invitation_not_found', 'version_conflict', 'unauthenticated'], 'exactly the errors the README announces, in order');
  t.match(stdout, /"emailVerified":true/, 'the email was verified');
  t.match(stdout, /"role":"admin","accountId":"[0-9a-f-]{36}"/, 'Grace joined as a newcomer');
  t.match(stdout, /\{"workspace":\{"id":"[0-9a-f-]{36}","name":"Acme"\},"role":"member"\}/, 'Bob accepted with his own account');
  t.match(stdout, /"name":"Grace Labs".*"trialState":"active"/, 'Grace started her own workspace');
  t.match(stdout, /"version":1,"updatedAt"/, 'the draft was saved');
  t.match(stdout, /etag: "/i, 'the status check has an ETag');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});
