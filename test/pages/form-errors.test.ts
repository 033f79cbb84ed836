import t from 'tap';
import { testContext, type TestContext } from '../helpers/app.js';
import { invite, latestToken, register, signUp, signUpVerified, uniqueEmail } from '../helpers/factories.js';
import { inputTag, openPage } from '../helpers/page-forms.js';
import { flowApi, verifiedFlow } from '../helpers/signup.js';

const CONTROL_NAMES = ['Ada\u0007 Lovelace', 'Ada\nLovelace', 'Ada\tLovelace', 'Ada\u001bLovelace', 'Ada\u0085Lovelace', 'Ada\u2028Lovelace'];
/** A name as the test output can show it (a raw U+2028 would break TAP's lines). */
const shown = (name: string) => name.replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const CONTROL_MESSAGE = 'must not contain control characters such as line breaks or tabs';
// NUL is refused earlier, in every body (src/http/opaque-input.ts), with its own message.
const NUL_MESSAGE = 'must not contain NUL characters or unpaired surrogates';

/** An invitation for a new address, and its accept page opened signed out. */
async function invitationPage(ctx: TestContext) {
  const owner = await signUpVerified(ctx);
  const email = uniqueEmail('invitee');
  t.equal((await invite(ctx.app, owner, owner.workspaceId, email)).statusCode, 201);
  const token = await latestToken(ctx, email);
  return { email, token, page: await openPage(ctx.app, `/invitations/accept?token=${token}`) };
}

t.test('a 10,000-character name on the invitation form comes back as the form, the error tied to the name field', async (t) => {
  const ctx = await testContext(t);
  const { token, page } = await invitationPage(ctx);
  const answer = await page.post('/invitations/accept', { token, intent: 'create', name: 'N'.repeat(10_000), password: 'correct horse battery staple' });
  t.equal(answer.statusCode, 400, 'a 400 like the page’s other field errors, never a 500');
  t.notMatch(answer.body, 'Something went wrong', 'not the generic error page');
  t.match(answer.body, '<h2>Create your account</h2>', 'the form itself');
  const name = inputTag(answer.body, 'name')!;
  t.match(name, 'aria-invalid="true"');
  t.match(name, /aria-describedby="field-name-error"/);
  t.match(answer.body, '<p class="error" id="field-name-error">This field must be at most 100 characters long, not counting spaces at either end.</p>');
  t.match(answer.body, 'Some fields need attention.');
  t.notOk(inputTag(answer.body, 'password')!.includes('aria-invalid'), 'the password was fine');
  t.match(answer.body, /name="_csrf" value="[^"]+"/, 'with a fresh CSRF token to try again');
});

t.test('the invitation page refuses control characters in a name, naming the field; nothing is created', async (t) => {
  const ctx = await testContext(t);
  const { email, token, page } = await invitationPage(ctx);
  for (const name of CONTROL_NAMES) {
    const answer = await page.post('/invitations/accept', { token, intent: 'create', name, password: 'correct horse battery staple' });
    t.equal(answer.statusCode, 400, shown(name));
    t.match(answer.body, `<p class="error" id="field-name-error">This field ${CONTROL_MESSAGE}.</p>`);
  }
  const nul = await page.post('/invitations/accept', { token, intent: 'create', name: 'Ada\u0000', password: 'correct horse battery staple' });
  t.equal(nul.statusCode, 400);
  t.match(nul.body, `<p class="error" id="field-name-error">This field ${NUL_MESSAGE}.</p>`, 'NUL, refused by the opaque-input check, is tied to the field too');
  const accounts = await ctx.runtime.db.selectFrom('accounts').select('id').where('email', '=', email).execute();
  t.equal(accounts.length, 0, 'no account was created');
  const ok = await page.post('/invitations/accept', { token, intent: 'create', name: '  Zoë O’Brien-Łukasz  ', password: 'correct horse battery staple' });
  t.equal(ok.statusCode, 201, 'a name with accents and punctuation joins');
});

t.test('the API refuses control characters in person names: registration, invitation accept, sign-up profile', async (t) => {
  const ctx = await testContext(t);
  for (const name of CONTROL_NAMES) {
    const registered = await register(ctx.app, { name });
    t.equal(registered.statusCode, 400, `registration ${shown(name)}`);
    t.same(registered.json().errors, [{ field: 'name', message: CONTROL_MESSAGE }]);
  }
  t.same((await register(ctx.app, { name: 'Ada\u0000' })).json().errors, [{ field: 'name', message: NUL_MESSAGE }]);
  t.same((await register(ctx.app, { workspaceName: 'Acme\tLabs' })).json().errors, [{ field: 'workspaceName', message: CONTROL_MESSAGE }], 'nor in workspace names, which invitation emails quote');

  const owner = await signUp(ctx.app);
  const email = uniqueEmail('invitee');
  await invite(ctx.app, owner, owner.workspaceId, email);
  const token = await latestToken(ctx, email);
  const accepted = await ctx.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token, name: 'Grace\u0007', password: 'correct horse battery staple' } });
  t.equal(accepted.statusCode, 400);
  t.same(accepted.json().errors, [{ field: 'name', message: CONTROL_MESSAGE }]);

  const flow = await verifiedFlow(ctx);
  const patched = await flowApi(ctx).patch(flow, { version: 1, profile: { firstName: 'Ada\u0007', lastName: 'Love\nlace' } });
  t.equal(patched.statusCode, 400);
  t.same(patched.json().errors.map((e: { field: string }) => e.field).sort(), ['profile.firstName', 'profile.lastName']);
  t.match(patched.json().detail, `profile.firstName ${CONTROL_MESSAGE}`);
});

t.test('every input of the verify-email, invitation, sign-in and sign-up forms carries the schema bounds', async (t) => {
  const ctx = await testContext(t);
  const { page: invitation } = await invitationPage(ctx);
  t.match(inputTag(invitation.response.body, 'name')!, /maxlength="100"[^>]* required/);
  t.match(inputTag(invitation.response.body, 'password')!, /minlength="8" maxlength="256"/);

  const owner = await signUp(ctx.app, { email: uniqueEmail('member') });
  const existing = await signUpVerified(ctx);
  await invite(ctx.app, existing, existing.workspaceId, owner.email);
  const signInInvitation = await openPage(ctx.app, `/invitations/accept?token=${await latestToken(ctx, owner.email)}`);
  t.match(inputTag(signInInvitation.response.body, 'email')!, /type="email"[^>]* maxlength="254"[^>]* required/);
  t.match(inputTag(signInInvitation.response.body, 'password')!, /maxlength="256"[^>]* required/);

  const onboarding = await openPage(ctx.app, `/onboarding/${owner.workspaceId}`);
  t.match(inputTag(onboarding.response.body, 'email')!, /type="email"[^>]* maxlength="254"/, 'the sign-in form');

  const verify = await openPage(ctx.app, '/verify-email');
  t.match(inputTag(verify.response.body, 'email')!, /type="email"[^>]* maxlength="254"[^>]* required/);

  const signup = (await ctx.app.inject({ url: '/signup' })).body;
  const inputs = [...signup.matchAll(/<input[^>]*type="(?:text|email|password)"[^>]*>/g)].map((m) => m[0]);
  t.ok(inputs.length >= 12, `the wizard's text inputs (${inputs.length})`);
  for (const input of inputs) t.match(input, /maxlength="\d+"/, /name="([^"]+)"/.exec(input)![1]!);
  const bound = (name: string) => /maxlength="(\d+)"/.exec(inputTag(signup, name)!)![1];
  t.same(
    ['profile.firstName', 'company.name', 'address.line1', 'address.postalCode', 'code', 'email'].map(bound),
    ['100', '100', '200', '20', '6', '254'],
    'the bounds are the API schema’s',
  );
});

t.test('a sign-in form on another page benefits too: an over-long address comes back as the form with a field error', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const page = await openPage(ctx.app, `/onboarding/${owner.workspaceId}`);
  const answer = await page.post(`/onboarding/${owner.workspaceId}/sign-in`, { email: `${'a'.repeat(5000)}@example.com`, password: 'x' });
  t.equal(answer.statusCode, 400);
  t.notMatch(answer.body, 'Something went wrong');
  t.match(inputTag(answer.body, 'email')!, 'aria-invalid="true"');
  t.match(answer.body, 'id="field-email-error">This field must be at most 254 characters long.');
});

t.test('a link whose token no token can be (cut off or run into other text) opens the page for a link that does not work, not an error in API words', async (t) => {
  const ctx = await testContext(t);
  for (const token of ['x'.repeat(201), `${'x'.repeat(43)}%00`]) {
    const verify = await ctx.app.inject({ url: `/verify-email?token=${token}` });
    t.equal(verify.statusCode, 400, `verify-email ${token.length}`);
    t.notMatch(verify.body, 'Something went wrong');
    t.notMatch(verify.body, 'querystring');
    t.match(verify.body, '<h1>This link is incomplete</h1>');
    t.ok(inputTag(verify.body, 'email'), 'with the form to ask for a new link');

    const invitation = await ctx.app.inject({ url: `/invitations/accept?token=${token}` });
    t.equal(invitation.statusCode, 404, `invitation ${token.length}`);
    t.notMatch(invitation.body, 'querystring');
    t.match(invitation.body, 'This invitation link does not work');
  }
  t.equal((await ctx.app.inject({ method: 'HEAD', url: `/verify-email?token=${'x'.repeat(201)}` })).statusCode, 400, 'HEAD as GET');
});

t.test("a form's POST address opened in the address bar leads back to the form's page, not to Page not found", async (t) => {
  const ctx = await testContext(t);
  const id = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
  const expected: [string, string][] = [
    ['/verify-email/request', '/verify-email'],
    ['/verify-email/resend', '/verify-email'],
    ['/admin/sign-in', '/admin'],
    ['/admin/sign-out', '/admin'],
    [`/admin/workspaces/${id}/extend-trial`, `/admin/workspaces/${id}`],
    [`/admin/workspaces/${id}/reopen`, `/admin/workspaces/${id}`],
    [`/onboarding/${id}/sign-in`, `/onboarding/${id}`],
    [`/onboarding/${id}/sign-out`, `/onboarding/${id}`],
    [`/onboarding/${id}/steps`, `/onboarding/${id}`],
  ];
  for (const [url, page] of expected) {
    const opened = await ctx.app.inject({ url, headers: { accept: 'text/html' } });
    t.equal(opened.statusCode, 303, url);
    t.equal(opened.headers.location, page);
  }
  t.equal((await ctx.app.inject({ url: '/admin/workspaces/..%2F..%2Fevil/reopen', headers: { accept: 'text/html' } })).statusCode, 400, 'only a workspace id is sent back');
});
