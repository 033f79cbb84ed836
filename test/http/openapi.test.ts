import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { routesOf } from '../../src/http/openapi.js';
import { testContext } from '../helpers/app.js';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

/** Verbs an operationId may start with; add one here when a new route needs it. */
const VERBS = [
  'get', 'list', 'create', 'update', 'delete', 'remove', 'change', 'confirm', 'resend', 'register', 'sign', 'accept',
  'revoke', 'preview', 'complete', 'uncomplete', 'save', 'reopen', 'check', 'start', 'cancel', 'submit', 'verify',
  'receive', 'replay', 'retry', 'rotate', 'export', 'set', 'choose', 'send', 'handle', 'scrape', 'close', 'add', 'test',
  'discard', 'erase', 'finish', 'replace', 'request', 'subscribe', 'disable', 'enable', 'resume', 'pause', 'archive', 'restore',
  'approve', 'reject', 'invite', 'leave', 'join', 'upload', 'download', 'import', 'refresh', 'mark', 'extend', 'validate', 'search',
];

const docPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const label = (method: string, pathName: string) => `${method.toUpperCase()} ${pathName}`;

/** Resolves a local `$ref` (one level is all the document uses). */
function deref(document: Json, node: Json | undefined): Json | undefined {
  const ref = node?.$ref as string | undefined;
  if (!ref) return node;
  return ref.replace(/^#\//, '').split('/').reduce<any>((at, part) => at?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

function hasExample(document: Json, media: Json | undefined): boolean {
  if (!media) return false;
  if (media.example !== undefined || media.examples !== undefined) return true;
  const schema = deref(document, media.schema);
  return Array.isArray(schema?.examples) && schema.examples.length > 0;
}

t.test('the served OpenAPI document', async (t) => {
  const ctx = await testContext(t);
  const response = await ctx.app.inject({ url: '/openapi.json', headers: { host: 'api.test:8443', 'x-forwarded-proto': 'https' } });
  t.equal(response.statusCode, 200);
  const document = response.json() as Json;

  t.test('names the instance under servers', async (t) => {
    t.same(document.servers, [{ url: 'http://api.test:8443', description: 'This instance' }]);
  });

  t.test('documents every route, and every documented operation exists', async (t) => {
    const routes = routesOf(ctx.app).filter((route) => !route.hidden);
    const served = new Set(routes.map((route) => label(route.method, docPath(route.url))));
    const documented = new Set<string>();
    for (const [pathName, item] of Object.entries(document.paths as Json)) {
      for (const method of Object.keys(item).filter((key) => METHODS.includes(key))) documented.add(label(method, pathName));
    }
    t.same([...served].filter((op) => !documented.has(op)), [], 'routes missing from /openapi.json (hidden ones need schema.hide)');
    t.same([...documented].filter((op) => !served.has(op)), [], 'documented operations that no route serves');
    t.ok(served.has('POST /v1/workspaces') && served.size >= 30, `${served.size} operations`);
  });

  t.test('every operation is complete', async (t) => {
    const withoutDatabase = new Set(routesOf(ctx.app).filter((route) => !route.database).map((route) => label(route.method, docPath(route.url))));
    const problems: string[] = [];
    const operationIds = new Map<string, string>();
    const tagNames = new Set((document.tags as Json[]).map((tag) => tag.name));
    for (const [pathName, item] of Object.entries(document.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json).filter(([key]) => METHODS.includes(key)) as [string, Json][]) {
        const at = label(method, pathName);
        const lack = (what: string) => problems.push(`${at}: ${what}`);
        const id = op.operationId as string | undefined;
        if (!id) lack('no operationId (schema.operationId, a camelCase verb such as createWorkspace)');
        else {
          if (!/^[a-z][A-Za-z0-9]*$/.test(id) || !VERBS.some((verb) => id === verb || id.startsWith(verb) && /[A-Z]/.test(id[verb.length]!))) {
            lack(`operationId "${id}" is not a camelCase name starting with a verb (${VERBS.join(', ')})`);
          }
          if (operationIds.has(id)) lack(`operationId "${id}" is also used by ${operationIds.get(id)}`);
          operationIds.set(id, at);
        }
        if (!op.summary) lack('no summary');
        if (!op.description) lack('no description (schema.description)');
        if (!op.tags?.length) lack('no tags');
        for (const tag of op.tags ?? []) if (!tagNames.has(tag)) lack(`tag "${tag}" is not declared in the document's tags (src/http/openapi.ts TAGS)`);
        if (!Array.isArray(op.security)) lack('no security requirement (the hook adds [] for public routes)');
        const requestMedia = op.requestBody?.content?.['application/json'];
        if (op.requestBody && !hasExample(document, requestMedia)) lack('request body without an example (TypeBox `examples: [...]` on the body schema)');

        const responses = op.responses as Json;
        const statuses = Object.keys(responses).map(Number);
        const usesSession = (op.security as Json[] | undefined)?.some((requirement) => 'sessionCookie' in requirement);
        for (const [statusText, answer] of Object.entries(responses) as [string, Json][]) {
          const status = Number(statusText);
          if (!answer.description || answer.description === 'Default Response') lack(`${status} has no description`);
          if (status < 300 && answer.content) {
            for (const [type, media] of Object.entries(answer.content as Json)) {
              if (!hasExample(document, media as Json)) lack(`${status} ${type} without an example (TypeBox \`examples: [...]\` on the response schema)`);
            }
          }
          if (status < 300 && usesSession && !answer.headers?.['Set-Cookie']) lack(`${status} lacks the Set-Cookie header (the session may be renewed)`);
          const isReadiness = pathName === '/readyz' && status === 503;
          if (status >= 400 && !isReadiness) {
            if (!answer.content?.['application/problem+json']) lack(`${status} is not application/problem+json (use problems(...) in the response schema)`);
            else if (answer.content['application/problem+json'].schema?.$ref !== '#/components/schemas/Problem') lack(`${status} does not use the Problem schema`);
          }
          if ((status === 429 || (status === 503 && !isReadiness)) && !answer.headers?.['Retry-After']) lack(`${status} lacks the Retry-After header`);
        }
        const need = (status: number, why: string) => {
          if (!statuses.includes(status)) lack(`${status} is missing: ${why}`);
        };
        need(500, 'every route can fail');
        if (op.requestBody || ['post', 'put', 'patch', 'delete'].includes(method)) {
          need(400, 'the body can be malformed');
          need(413, 'the body can be too large');
          need(415, 'the body can be of another type');
        }
        if (op.parameters?.length) need(400, 'a parameter can be invalid');
        if (pathName.includes('{')) need(414, 'a path parameter can be too long');
        if (op.security?.some((requirement: Json) => Object.keys(requirement).length > 0)) need(401, 'the route needs credentials');
        if (!withoutDatabase.has(at)) need(503, 'the route touches the database (set config.database: false if not)');
        if (!Object.keys(responses).some((status) => Number(status) < 400)) lack('no success response');
      }
    }
    t.same(problems, [], 'operations lacking something: each line names the route and what it lacks');
  });

  t.test('rate-limited routes document 429; Set-Cookie, Location and ETag are documented where sent', async (t) => {
    const paths = document.paths as Json;
    for (const [pathName, method] of [['/v1/registrations', 'post'], ['/v1/sessions', 'post'], ['/v1/email-verifications/confirm', 'post'], ['/v1/invitations/accept', 'post'], ['/v1/workspaces/{id}/onboarding/draft', 'patch']]) {
      t.ok(paths[pathName!][method!].responses['429'], `${method} ${pathName} documents 429`);
    }
    t.ok(paths['/v1/registrations'].post.responses['201'].headers['Set-Cookie'], 'sign-up sets the cookie');
    t.ok(paths['/v1/sessions'].post.responses['200'].headers['Set-Cookie'], 'sign-in sets the cookie');
    t.ok(paths['/v1/sessions/current'].delete.responses['204'].headers['Set-Cookie'], 'sign-out clears the cookie');
    t.ok(paths['/v1/invitations/accept'].post.responses['201'].headers['Set-Cookie'], 'a newcomer is signed in');
    t.notOk(paths['/v1/admin/stats'].get.responses['200'].headers?.['Set-Cookie'], 'admin routes never set it');
    t.same(paths['/v1/workspaces'].post.responses['201'].headers?.Location, { $ref: '#/components/headers/Location' }, 'a new workspace answers with its Location');
    for (const status of ['200', '304']) {
      t.same(paths['/v1/me/onboarding-status'].get.responses[status].headers?.ETag, { $ref: '#/components/headers/ETag' }, `the onboarding status's ${status} carries its ETag`);
    }
    t.ok(document.components.headers.ETag && document.components.headers.Location);
    t.same(paths['/v1/admin/stats'].get.security, [{ adminToken: [] }]);
    t.same(paths['/v1/sessions'].post.security, [], 'sign-in is public');
    t.ok(document.components.headers.RetryAfter && document.components.headers.SetCookie);
  });

  t.test('the CSV export is described', async (t) => {
    const answer = (document.paths as Json)['/v1/admin/workspaces'].get.responses['200'];
    t.ok(answer.content['text/csv'], 'text/csv is a documented answer');
    t.match(answer.content['text/csv'].schema.description, /owner_email/);
    t.match((document.paths as Json)['/v1/admin/workspaces'].get.description, /Accept: text\/csv/);
  });

  t.test('shared schemas live under components', async (t) => {
    for (const name of ['Problem', 'Account', 'Workspace', 'Membership', 'Invitation', 'Member', 'Onboarding', 'AdminWorkspace', 'AuditEvent', 'Role']) {
      t.ok(document.components.schemas[name], `components.schemas.${name}`);
    }
    const created = (document.paths as Json)['/v1/workspaces'].post.responses['201'].content['application/json'].schema;
    t.same(created, { $ref: '#/components/schemas/Membership' });
  });

  t.test('@redocly/cli lint (recommended rules) finds no error', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'openapi-lint-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(document, null, 2));
    const redocly = path.resolve('node_modules/.bin/redocly');
    const run = await promisify(execFile)(redocly, ['lint', file, '--format=json', '--extends=recommended'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', NO_COLOR: '1' },
      maxBuffer: 20 * 1024 * 1024,
    }).catch((error: { stdout: string; stderr: string }) => error);
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { problems: { severity: string; ruleId: string; message: string; location: { pointer: string }[] }[] };
    const errors = report.problems
      .filter((problem) => problem.severity === 'error')
      .map((problem) => `${problem.ruleId} at ${problem.location[0]?.pointer.replace(/~1/g, '/')}: ${problem.message}`);
    t.same(errors, [], 'redocly errors, each with the JSON pointer of the operation');
  });
});
