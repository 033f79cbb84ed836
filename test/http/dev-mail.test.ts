import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { testContext } from '../helpers/app.js';
import { signUp, uniqueEmail } from '../helpers/factories.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-devmail-'));
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('GET /dev/mail lists saved messages newest first, links clickable, text escaped', async (t) => {
  const ctx = await testContext(t, { env: { SMTP_URL: '', DATA_DIR: await tempDir(t) } });
  const empty = await ctx.app.inject({ url: '/dev/mail' });
  t.equal(empty.statusCode, 200);
  t.match(empty.body, 'No mail yet.');

  const first = await signUp(ctx.app, { email: uniqueEmail('first'), name: '<b>Ada</b>' });
  await ctx.runJobs();
  const second = await signUp(ctx.app, { email: uniqueEmail('second') });
  await ctx.runJobs();
  const page = await ctx.app.inject({ url: '/dev/mail' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], 'text/html');
  t.equal(page.headers['cache-control'], 'no-store');
  t.ok(page.body.indexOf(second.email) < page.body.indexOf(first.email), 'newest first');
  const links = [...page.body.matchAll(/<a href="(http:\/\/app\.test\/verify-email\?token=[A-Za-z0-9_-]+)">/g)].map((m) => m[1]);
  t.ok(links.length >= 2, 'each verification link is an <a href>');
  t.notMatch(page.body, '<b>Ada</b>', 'message text is escaped');
  t.match(page.body, '&lt;b&gt;Ada&lt;/b&gt;');
});

t.test('/dev/mail is not served when SMTP_URL is set', async (t) => {
  const ctx = await testContext(t, { env: { DATA_DIR: await tempDir(t) } });
  t.equal((await ctx.app.inject({ url: '/dev/mail' })).statusCode, 404);
});

t.test('/dev/mail is not served when NODE_ENV is production, and no emailed link reaches the log', async (t) => {
  const ctx = await testContext(t, { env: { SMTP_URL: '', NODE_ENV: 'production', PAYMENT_GATEWAY: 'local', DATA_DIR: await tempDir(t) }, captureLogs: true });
  await signUp(ctx.app);
  await ctx.runJobs();
  t.equal((await ctx.app.inject({ url: '/dev/mail' })).statusCode, 404);
  t.match(ctx.logs(), 'dev mailbox: message saved', 'the message was saved');
  t.notMatch(ctx.logs(), 'verify-email?token=', 'its link, which holds a live token, was not logged');
  t.match(ctx.logs(), 'SMTP_URL is unset: no email is sent', 'the start warned that mail goes nowhere');
});
