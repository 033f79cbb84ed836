import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';
import t from 'tap';
import { CLIENT_TYPES_FILE, clientTypes } from '../../scripts/client-types.js';
import { testContext } from '../helpers/app.js';
import { clientFor, listening } from '../helpers/client.js';
import { latestToken, PASSWORD, uniqueEmail } from '../helpers/factories.js';

t.test('the typed client against the real server: registration, sign-in, an onboarding save', async (t) => {
  const ctx = await testContext(t);
  const baseUrl = await listening(ctx.app);
  const { client, jar } = clientFor(t, baseUrl);
  const email = uniqueEmail('client');

  const registered = await client.POST('/v1/registrations', {
    body: { email, password: PASSWORD, name: 'Ada', workspaceName: 'Acme' },
    headers: { 'idempotency-key': `client-${email}` },
  });
  t.equal(registered.response.status, 201);
  t.equal(registered.data?.account.email, email);
  t.equal(registered.data?.workspace.trialState, 'pending_verification');
  t.ok(jar.cookie(), 'the session cookie was kept');
  const workspaceId = registered.data!.workspace.id;

  const token = await latestToken(ctx, email);
  const confirmed = await client.POST('/v1/email-verifications/confirm', { body: { token } });
  t.same(confirmed.data, { accountId: registered.data!.account.id, emailVerified: true });

  const signedOut = await client.DELETE('/v1/sessions/current');
  t.equal(signedOut.response.status, 204);
  t.equal(jar.cookie(), '', 'signing out cleared the cookie');
  const anonymous = await client.GET('/v1/me');
  t.equal(anonymous.response.status, 401);
  t.equal(anonymous.error?.code, 'unauthenticated', 'errors come back typed as problems');

  const wrong = await client.POST('/v1/sessions', { body: { email, password: 'not the password' } });
  t.equal(wrong.error?.code, 'invalid_credentials');
  const signedIn = await client.POST('/v1/sessions', { body: { email, password: PASSWORD } });
  t.equal(signedIn.data?.accountId, registered.data!.account.id);
  const me = await client.GET('/v1/me');
  t.equal(me.data?.workspaces[0]?.trialState, 'active');

  const onboarding = await client.GET('/v1/workspaces/{id}/onboarding', { params: { path: { id: workspaceId } } });
  t.equal(onboarding.data?.version, 0);
  const saved = await client.PATCH('/v1/workspaces/{id}/onboarding/draft', {
    params: { path: { id: workspaceId } },
    body: { data: { companySize: '11-50' }, currentStep: 'profile_complete', version: onboarding.data!.version },
  });
  t.equal(saved.data?.version, 1);
  const stale = await client.PATCH('/v1/workspaces/{id}/onboarding/draft', {
    params: { path: { id: workspaceId } },
    body: { data: { companySize: '1-10' }, version: 0 },
  });
  t.equal(stale.response.status, 409);
  t.match(stale.error, { code: 'version_conflict', current: { version: 1, data: { companySize: '11-50' } } });

  const created = await client.POST('/v1/workspaces', { body: { name: 'Second' } });
  t.equal(created.data?.role, 'owner');
});

t.test('the committed client types are what the running service serves (npm run client:generate)', async (t) => {
  const ctx = await testContext(t);
  const served = (await ctx.app.inject({ url: '/openapi.json' })).json() as object;
  const committed = await readFile(CLIENT_TYPES_FILE, 'utf8');
  t.ok(committed === (await clientTypes(served)), `${CLIENT_TYPES_FILE} is out of date: run npm run client:generate and commit it`);
});

t.test('the client bundles for a browser: no Node-only import', async (t) => {
  const result = await build({ entryPoints: ['src/client/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
  t.same(result.errors, []);
  const code = result.outputFiles[0]!.text;
  t.notMatch(code, /from\s+["']node:/);
  t.match(code, 'AutoSaver');
});
