import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { AdminBrowser } from '../helpers/admin-pages.js';
import { signUpVerified } from '../helpers/factories.js';
import { openPage } from '../helpers/page-forms.js';

t.test('every page form POST is refused (403, nothing done) without its CSRF token, and accepted with it', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  // One page's CSRF cookie and token serve every form; the owner's and the admin's sessions are sent too, so only the token decides.
  const page = await openPage(ctx.app, `/onboarding/${owner.workspaceId}`, `${owner.cookie}; ${admin.cookie()}`);
  const ws = owner.workspaceId;
  const forms: [string, Record<string, string>][] = [
    ['/verify-email', { token: 'x'.repeat(43) }],
    ['/verify-email/resend', {}],
    ['/verify-email/request', { email: 'someone@example.com' }],
    ['/invitations/accept', { token: 'x'.repeat(43), intent: 'join' }],
    ['/invitations/sign-out', { token: 'x'.repeat(43) }],
    [`/onboarding/${ws}/steps`, { step: 'first_integration', done: 'true' }],
    [`/onboarding/${ws}/sign-in`, { email: owner.email, password: 'wrong password here' }],
    [`/admin/workspaces/${ws}/extend-trial`, { days: '3', reason: 'CSRF check.' }],
    [`/admin/workspaces/${ws}/reopen`, { reopenReason: 'CSRF check.' }],
    ['/admin/sign-in', { actor: 'Mallory', token: ctx.config.adminToken! }],
    [`/onboarding/${ws}/sign-out`, {}],
    ['/admin/sign-out', {}],
  ];
  const pagesDir = path.resolve(import.meta.dirname, '../../src/http/pages');
  const routes = readdirSync(pagesDir).filter((f) => f.endsWith('.ts')).flatMap((f) => [...readFileSync(path.join(pagesDir, f), 'utf8').matchAll(/app\.post\(\s*['`]([^'`]+)['`]/g)].map((m) => m[1]!));
  t.same(routes.map((r) => r.replace(':workspaceId', ws).replace(':id', ws)).sort(), forms.map(([url]) => url).sort(), 'every page POST route is in this list');
  for (const [url, fields] of forms) {
    for (const [_csrf, why] of [['forged', 'a forged token'], ['', 'an empty token']] as const) {
      const refused = await page.post(url, { ...fields, _csrf });
      t.equal(refused.statusCode, 403, `${url}: ${why}`);
      t.match(refused.body, 'reload the page', `${url}: says what to do`);
    }
  }
  const steps = await ctx.runtime.db.selectFrom('onboarding_progress').selectAll().where('workspace_id', '=', ws).executeTakeFirstOrThrow();
  t.notMatch(JSON.stringify(steps), 'first_integration', 'no step was ticked');
  for (const [url, fields] of forms) t.not((await page.post(url, fields)).statusCode, 403, `${url}: with its token, not refused`);
});
