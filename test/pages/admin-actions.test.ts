import { sql } from 'kysely';
import t from 'tap';
import type { TestContext } from '../helpers/app.js';
import { testContext } from '../helpers/app.js';
import { AdminBrowser, hiddenValue, trialEnd } from '../helpers/admin-pages.js';
import { signUpVerified } from '../helpers/factories.js';
import { inputTag } from '../helpers/page-forms.js';

const DAY_MS = 86_400_000;

async function auditCount(ctx: TestContext, workspaceId: string, action: string): Promise<number> {
  const rows = await sql<{ n: number }>`select count(*)::int as n from audit_events where workspace_id = ${workspaceId} and action = ${action}`.execute(ctx.runtime.db);
  return rows.rows[0]!.n;
}

t.test('the same "Extend trial" form posted twice, one after the other, extends once and shows the same result', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const before = await trialEnd(ctx, owner.workspaceId);
  const page = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const form = { days: '10', reason: 'Asked for more time.', idempotencyKey: hiddenValue(page, 'idempotencyKey') };

  const first = await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, page, form);
  const second = await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, page, form);
  t.equal(first.statusCode, 303);
  t.equal(second.statusCode, 303, 'the repeat is not an error');
  t.equal(second.headers.location, first.headers.location, 'the same result page');
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 10 * DAY_MS, 'ten days added, once');
  t.equal(await auditCount(ctx, owner.workspaceId, 'trial.extended'), 1, 'one audit event');

  const next = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  t.not(hiddenValue(next, 'idempotencyKey'), form.idempotencyKey, 'a new rendering of the form gets a new key');
  await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, next, { ...form, idempotencyKey: hiddenValue(next, 'idempotencyKey') });
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 20 * DAY_MS, 'a second, deliberate extension counts');
});

t.test('the same "Extend trial" form posted twice at once extends once', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const before = await trialEnd(ctx, owner.workspaceId);
  const page = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const form = { days: '7', reason: 'Double click.', idempotencyKey: hiddenValue(page, 'idempotencyKey') };
  const answers = await Promise.all([1, 2, 3].map(() => admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, page, form)));
  t.same(answers.map((a) => a.statusCode), [303, 303, 303]);
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 7 * DAY_MS, 'seven days added, once');
  t.equal(await auditCount(ctx, owner.workspaceId, 'trial.extended'), 1, 'one audit event');
});

t.test('the same "Reopen workspace" form posted twice reopens once and shows the same result', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const page = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const form = { reopenReason: 'Customer came back.', idempotencyKey: hiddenValue(page, 'idempotencyKey') };
  const answers = await Promise.all([1, 2].map(() => admin.post(`/admin/workspaces/${owner.workspaceId}/reopen`, page, form)));
  const again = await admin.post(`/admin/workspaces/${owner.workspaceId}/reopen`, page, form);
  t.same([...answers, again].map((a) => [a.statusCode, a.headers.location]), Array(3).fill([303, `/admin/workspaces/${owner.workspaceId}?done=reopened`]));
  t.equal(await auditCount(ctx, owner.workspaceId, 'workspace.reopened'), 1, 'one audit event');
});

t.test('the admin API takes an Idempotency-Key on trial changes and reopening', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const before = await trialEnd(ctx, owner.workspaceId);
  const post = (url: string, payload: Record<string, unknown>, key: string) =>
    ctx.app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${ctx.config.adminToken}`, 'idempotency-key': key } });
  const url = `/v1/admin/workspaces/${owner.workspaceId}/trial`;
  const answers = await Promise.all([1, 2].map(() => post(url, { extendDays: 3, reason: 'Retry.' }, 'key-1')));
  t.same(answers.map((a) => a.statusCode), [200, 200]);
  t.equal(answers[0]!.json().trialEndsAt, answers[1]!.json().trialEndsAt, 'the same answer');
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 3 * DAY_MS, 'extended once');
  const reused = await post(url, { extendDays: 4, reason: 'Retry.' }, 'key-1');
  t.equal(reused.statusCode, 422);
  t.equal(reused.json().code, 'idempotency_key_reused');

  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const reopenUrl = `/v1/admin/workspaces/${owner.workspaceId}/reopen`;
  t.equal((await post(reopenUrl, { reason: 'Back.' }, 'key-2')).statusCode, 200);
  t.equal((await post(reopenUrl, { reason: 'Back.' }, 'key-2')).statusCode, 200, 'the retry is not 409 workspace_not_closed');
  t.equal((await post(reopenUrl, { reason: 'Back.' }, 'key-3')).statusCode, 409, 'a new key acts again');
  t.equal(await auditCount(ctx, owner.workspaceId, 'workspace.reopened'), 1);
});

t.test('every admin form input announces the bounds the server enforces', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const signIn = (await ctx.app.inject({ method: 'GET', url: '/admin' })).body;
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const list = (await admin.get('/admin')).body;
  const detail = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const input = (body: string, id: string) => new RegExp(`<input id="${id}"[^>]*>`).exec(body)?.[0] ?? '';

  const expected: [string, string, RegExp[]][] = [
    [signIn, 'field-actor', [/ maxlength="100"/, / required/]],
    [signIn, 'field-token', [/ maxlength="500"/, / required/]],
    [list, 'filter-q', [/ maxlength="200"/]],
    [detail, 'field-days', [/ min="1"/, / max="365"/, / required/]],
    [detail, 'field-reason', [/ maxlength="500"/, / required/]],
    [detail, 'field-reopenReason', [/ maxlength="500"/, / required/]],
  ];
  for (const [body, id, attributes] of expected) {
    const tag = input(body, id);
    t.ok(tag, `${id} is on the page`);
    for (const attribute of attributes) t.match(tag, attribute, `${id} has${attribute.source}`);
  }

  const tooLong = (await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, detail, { days: '366', reason: 'x'.repeat(501), idempotencyKey: 'k' })).body;
  t.match(tooLong, 'Enter a whole number of days from 1 to 365.', 'the server says the same bounds');
  t.match(tooLong, 'This field must be at most 500 characters long, not counting spaces at either end.');
});

t.test('an admin form whose body fails its schema comes back as that form, 400, the error tied to its field', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const fieldError = (body: string, name: string) => new RegExp(`<p class="error" id="field-${name}-error">([^<]*)</p>`).exec(body)?.[1];
  const invalid = (body: string, name: string) => new RegExp(`<input id="field-${name}"[^>]*aria-invalid="true"`).test(body);

  const visitor = new AdminBrowser(ctx.app);
  const signIn = (await visitor.get('/admin')).body;
  const trimmedBound = 'This field must be at most 100 characters long, not counting spaces at either end.';
  for (const [actor, message] of [
    ['x'.repeat(101), trimmedBound],
    ['x'.repeat(2000), trimmedBound],
    ['Olivia\nOps', 'This field must not contain control characters such as line breaks or tabs.'],
  ] as const) {
    const answer = await visitor.post('/admin/sign-in', signIn, { actor, token: ctx.config.adminToken!, returnTo: '/admin/leads' });
    t.equal(answer.statusCode, 400, `actor of ${actor.length}`);
    t.notMatch(answer.body, 'Something went wrong', 'not the generic error page');
    t.match(answer.body, '<h1>Admin sign-in</h1>');
    t.ok(invalid(answer.body, 'actor'), 'the name field is marked');
    t.equal(fieldError(answer.body, 'actor'), message);
    t.match(answer.body, 'name="returnTo" value="/admin/leads"', 'the deep link is kept');
    t.notOk(visitor.value('admin_page'), 'not signed in');
  }
  const padded = await visitor.post('/admin/sign-in', signIn, { actor: `  ${'x'.repeat(100)}  `, token: ctx.config.adminToken! });
  t.equal(padded.statusCode, 303, 'the bound counts the name without spaces at either end, as the handler does');

  const tokenVisitor = new AdminBrowser(ctx.app);
  const tokenForm = (await tokenVisitor.get('/admin')).body;
  const overLong = await tokenVisitor.post('/admin/sign-in', tokenForm, { actor: 'Olivia', token: 'T'.repeat(600) });
  t.equal(overLong.statusCode, 400);
  t.ok(invalid(overLong.body, 'token'), 'the token field is marked');
  t.notMatch(overLong.body, 'T'.repeat(600), 'the typed token is not echoed');
  t.match(inputTag(overLong.body, 'actor')!, 'value="Olivia"', 'the name typed is kept');

  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const before = await trialEnd(ctx, owner.workspaceId);
  const detail = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const key = hiddenValue(detail, 'idempotencyKey');
  const longReason = await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, detail, { days: '5', reason: 'r'.repeat(2001), idempotencyKey: key });
  t.equal(longReason.statusCode, 400);
  t.notMatch(longReason.body, 'Something went wrong');
  t.match(longReason.body, 'The trial was not changed.');
  t.equal(fieldError(longReason.body, 'reason'), 'This field must be at most 500 characters long, not counting spaces at either end.');
  t.match(inputTag(longReason.body, 'days')!, 'value="5"', 'the days typed are kept');

  const longDays = await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, detail, { days: '1'.repeat(21), reason: 'Because.', idempotencyKey: key });
  t.equal(longDays.statusCode, 400);
  t.equal(fieldError(longDays.body, 'days'), 'Enter a whole number of days from 1 to 365.');
  t.match(inputTag(longDays.body, 'reason')!, 'value="Because."');
  t.equal(await trialEnd(ctx, owner.workspaceId), before, 'the trial was not changed');

  const longReopen = await admin.post(`/admin/workspaces/${owner.workspaceId}/reopen`, detail, { reopenReason: 'r'.repeat(2001), idempotencyKey: key });
  t.equal(longReopen.statusCode, 400);
  t.match(longReopen.body, 'The workspace was not reopened.');
  t.equal(fieldError(longReopen.body, 'reopenReason'), 'This field must be at most 500 characters long, not counting spaces at either end.');
  t.equal(await auditCount(ctx, owner.workspaceId, 'workspace.reopened'), 0, 'not reopened');

  const signedOut = await new AdminBrowser(ctx.app).submit(`/admin/workspaces/${owner.workspaceId}/reopen`, { _csrf: 'x', reopenReason: 'r'.repeat(2001) });
  t.not(signedOut.statusCode, 400, 'a signed-out post never shows the workspace');
  t.notMatch(signedOut.body, 'Reopen the workspace');
});

t.test('a form sent again with other values (back, edit, send) changes nothing and says so, with a fresh form to send', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const before = await trialEnd(ctx, owner.workspaceId);
  const page = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const key = hiddenValue(page, 'idempotencyKey');
  const url = `/admin/workspaces/${owner.workspaceId}/extend-trial`;
  t.equal((await admin.post(url, page, { days: '3', reason: 'First.', idempotencyKey: key })).statusCode, 303);
  const edited = await admin.post(url, page, { days: '4', reason: 'Second.', idempotencyKey: key });
  t.equal(edited.statusCode, 409, 'not a 422 error page');
  t.notMatch(edited.body, 'Something went wrong');
  t.notMatch(edited.body, 'Idempotency-Key', 'no API words on the page');
  t.match(edited.body, 'Nothing was changed: this form was already sent with other values');
  t.match(inputTag(edited.body, 'days')!, 'value="4"', 'the values typed are kept');
  const fresh = hiddenValue(edited.body, 'idempotencyKey');
  t.not(fresh, key, 'with a new key');
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 3 * DAY_MS, 'only the first change');
  t.equal((await admin.post(url, edited.body, { days: '4', reason: 'Second.', idempotencyKey: fresh })).statusCode, 303, 'sent again, it acts');
  t.equal(await trialEnd(ctx, owner.workspaceId), before + 7 * DAY_MS);

  await sql`update workspaces set status = 'closed', closed_at = now() where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const closed = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const reopenKey = hiddenValue(closed.slice(closed.indexOf('/reopen"')), 'idempotencyKey');
  const reopenUrl = `/admin/workspaces/${owner.workspaceId}/reopen`;
  t.equal((await admin.post(reopenUrl, closed, { reopenReason: 'Back.', idempotencyKey: reopenKey })).statusCode, 303);
  const again = await admin.post(reopenUrl, closed, { reopenReason: 'Back, really.', idempotencyKey: reopenKey });
  t.equal(again.statusCode, 409);
  t.match(again.body, 'Nothing was changed: this form was already sent with other values');
  t.equal(await auditCount(ctx, owner.workspaceId, 'workspace.reopened'), 1);
});

t.test('the trials and leads filters, edited past their bounds in the address, come back as the list with the error tied to its filter', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Filtered Trial' });
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const filterError = (body: string, name: string) => new RegExp(`<p class="error" id="filter-${name}-error">([^<]*)</p>`).exec(body)?.[1];

  const list = await admin.get(`/admin?q=${'q'.repeat(201)}&plan=trial`);
  t.equal(list.statusCode, 400);
  t.notMatch(list.body, 'Something went wrong', 'not the generic error page');
  t.match(list.body, 'Some filters need attention; the list below is not filtered by them.');
  t.equal(filterError(list.body, 'q'), 'This field must be at most 200 characters long.');
  t.match(list.body, /<input id="filter-q"[^>]*aria-invalid="true" aria-describedby="filter-q-error"/);
  t.notMatch(list.body, 'q'.repeat(201), 'the over-long value is not echoed');
  t.match(list.body, /<select id="filter-plan"[^>]*>.*<option value="trial" selected>/, 'the valid filter is kept and applied');
  t.match(list.body, owner.email, 'the list is shown');

  const signedOut = await new AdminBrowser(ctx.app).get(`/admin?q=${'q'.repeat(201)}`);
  t.equal(signedOut.statusCode, 401, 'signed out: the sign-in page, not the list');
  t.notMatch(signedOut.body, owner.email);

  const leads = await admin.get(`/admin/leads?from=${'2'.repeat(51)}&to=nonsense&verified=true`);
  t.equal(leads.statusCode, 400);
  t.notMatch(leads.body, 'Something went wrong');
  t.equal(filterError(leads.body, 'from'), 'This field must be at most 50 characters long.');
  t.equal(filterError(leads.body, 'to'), 'Enter a date as YYYY-MM-DD.', 'the page’s own checks still apply');
  t.match(leads.body, /<option value="true" selected>/, 'the valid filter is kept');
});

t.test('the trials filters, a choice no select offers or a broken page link in the address, come back as the list with that field marked', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx, { workspaceName: 'Chosen Trial' });
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const filterError = (body: string, name: string) => new RegExp(`<p class="error" id="filter-${name}-error">([^<]*)</p>`).exec(body)?.[1];
  const marked = (body: string, tag: string, name: string) => new RegExp(`<${tag} id="filter-${name}"[^>]*aria-invalid="true" aria-describedby="filter-${name}-error"`).test(body);

  for (const [query, name, message] of [
    ['trialState=bogus', 'trialState', 'Choose one of the options: any, pending verification, active, ending soon, expired.'],
    ['status=open', 'status', 'Choose one of the options: any, active, closed.'],
    ['onboarding=done', 'onboarding', 'Choose one of the options: any, in progress, completed.'],
    ['plan=bogus', 'plan', 'Choose one of the options: any, trial, pro.'],
  ] as const) {
    const list = await admin.get(`/admin?${query}&q=Chosen`);
    t.equal(list.statusCode, 400, query);
    t.notMatch(list.body, 'Something went wrong', 'not the generic error page');
    t.match(list.body, 'Some filters need attention');
    t.equal(filterError(list.body, name), message, `${query}: the error names the options`);
    t.ok(marked(list.body, 'select', name), `${query}: the select is marked`);
    t.match(list.body, /<input id="filter-q"[^>]*value="Chosen"/, 'the valid filter is kept');
    t.match(list.body, owner.email, 'the list is shown');
  }
  const chosen = await admin.get('/admin?plan=trial&trialState=active');
  t.equal(chosen.statusCode, 200, 'a value the select offers is applied');
  t.match(chosen.body, /<select id="filter-plan"[^>]*>.*<option value="trial" selected>/);
  t.match((await admin.get('/admin?plan=pro')).body, 'No workspace matches.');
  // A plan since removed from PLANS still filters the workspaces on it, as the API's filter does.
  await sql`update workspaces set plan = 'legacy' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const legacy = await admin.get('/admin?plan=legacy');
  t.equal(legacy.statusCode, 200, 'a plan workspaces are still on');
  t.match(legacy.body, /<option value="legacy" selected>/);
  t.match(legacy.body, owner.email);
  t.equal((await admin.get('/admin/workspaces.csv?plan=legacy')).statusCode, 200, 'and its CSV');
  await sql`update workspaces set plan = 'trial' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);

  const broken = await admin.get('/admin?cursor=abc&plan=trial');
  t.equal(broken.statusCode, 400, 'a broken page link');
  t.notMatch(broken.body, 'Something went wrong');
  t.equal(filterError(broken.body, 'cursor'), 'This page link is broken or was edited: the list below starts at its first page.');
  t.ok(marked(broken.body, 'input', 'cursor'), 'the page field is marked');
  t.match(broken.body, /<input id="filter-cursor"[^>]*value=""/, 'and emptied, so filtering again starts at the first page');
  t.match(broken.body, owner.email, 'the first page is shown');
  const tooLong = await admin.get(`/admin?cursor=${'c'.repeat(501)}`);
  t.equal(tooLong.statusCode, 400);
  t.ok(marked(tooLong.body, 'input', 'cursor'), 'a page link past its bound is marked too');

  t.match(broken.body, /role="alert"[^>]*>This page link is broken/, 'the alert says what is wrong: only the page link, the filters still apply');
  t.notMatch(broken.body, 'Some filters need attention');

  const csv = await admin.get('/admin/workspaces.csv?trialState=bogus');
  t.equal(csv.statusCode, 400, 'the CSV of an edited link is refused, not every workspace');
  t.notMatch(csv.body, owner.email);

  // The leads list and its CSV the same way.
  const leads = await admin.get('/admin/leads?cursor=garbage');
  t.equal(leads.statusCode, 400, 'a broken leads page link');
  t.equal(filterError(leads.body, 'cursor'), 'This page link is broken or was edited: the list below starts at its first page.');
  t.ok(marked(leads.body, 'input', 'cursor'), 'its page field is marked');
  t.equal((await admin.get('/admin/leads.csv?from=junk')).statusCode, 400, 'the leads CSV of an edited link is refused, not every lead');
  t.equal((await admin.get('/admin/leads.csv?verified=yes')).statusCode, 400, 'a verified choice the select does not offer too');
  const edited = await admin.get('/admin/leads?verified=yes');
  t.equal(edited.statusCode, 400);
  t.equal(filterError(edited.body, 'verified'), 'Choose one of the options: any, verified, not verified.');
  t.ok(marked(edited.body, 'select', 'verified'), 'the select is marked');
});

t.test('an extension past the latest allowed trial end comes back as the form with the error on its days', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUpVerified(ctx);
  await sql`update workspaces set trial_ends_at = now() + interval '1825 days' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  const before = await trialEnd(ctx, owner.workspaceId);
  const admin = await AdminBrowser.signIn(ctx.app, ctx.config.adminToken!);
  const detail = (await admin.get(`/admin/workspaces/${owner.workspaceId}`)).body;
  const answer = await admin.post(`/admin/workspaces/${owner.workspaceId}/extend-trial`, detail, { days: '7', reason: 'Long contract.', idempotencyKey: hiddenValue(detail, 'idempotencyKey') });
  t.equal(answer.statusCode, 400);
  t.notMatch(answer.body, 'Something went wrong');
  t.match(answer.body, 'The trial was not changed.');
  t.match(new RegExp('<p class="error" id="field-days-error">([^<]*)</p>').exec(answer.body)?.[1], /^This field would end the trial after \d{4}-\d\d-\d\dT[\d:.]+Z, the latest allowed end\.$/);
  t.match(inputTag(answer.body, 'days')!, /aria-invalid="true"/);
  t.match(inputTag(answer.body, 'reason')!, 'value="Long contract."', 'the reason typed is kept');
  t.equal(await trialEnd(ctx, owner.workspaceId), before, 'the trial was not changed');
  t.equal(await auditCount(ctx, owner.workspaceId, 'trial.extended'), 0);
});
