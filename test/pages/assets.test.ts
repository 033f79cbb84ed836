import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { bundlePages, copyRuntimeFiles, PAGE_BUNDLES } from '../../scripts/build-pages.js';
import { testContext } from '../helpers/app.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

t.test('every committed browser bundle is what `npm run pages:build` makes from its source now', async (t) => {
  const fresh = await bundlePages();
  t.equal(fresh.size, PAGE_BUNDLES.length);
  for (const [asset, text] of fresh) {
    t.equal(await readFile(path.join(ROOT, asset), 'utf8'), text, `${asset} is up to date (run npm run pages:build and commit it)`);
    t.notMatch(text, /\bimport\s*[^(]|\brequire\(|from\s*["']node:/, `${asset} is one self-contained module`);
  }
});

t.test('the service serves the bundle and the hand-written assets from /assets/', async (t) => {
  const ctx = await testContext(t);
  for (const { asset } of PAGE_BUNDLES) {
    const response = await ctx.app.inject({ method: 'GET', url: `/assets/${path.basename(asset)}` });
    t.equal(response.statusCode, 200);
    t.match(response.headers['content-type'], 'javascript');
    t.equal(response.body, await readFile(path.join(ROOT, asset), 'utf8'));
  }
  const page = await ctx.app.inject({ method: 'GET', url: '/onboarding/7d8e9f00-1a2b-4c3d-8e4f-5a6b7c8d9e0f' });
  t.match(page.body, '<script type="module" src="/assets/onboarding.js"></script>', 'the onboarding page loads it');
});

t.test('`npm run build` puts the page assets and the migrations where the compiled service looks for them', async (t) => {
  const dist = await mkdtemp(path.join(os.tmpdir(), 'onboarding-dist-'));
  t.teardown(() => rm(dist, { recursive: true, force: true }));
  await copyRuntimeFiles(dist);
  // The compiled src/http/pages/index.js serves ./assets/ beside itself; src/db/migrator.js reads ../../migrations/.
  t.same((await readdir(path.join(dist, 'src/http/pages/assets'))).sort(), (await readdir(path.join(ROOT, 'src/http/pages/assets'))).sort());
  t.same((await readdir(path.join(dist, 'migrations'))).sort(), (await readdir(path.join(ROOT, 'migrations'))).sort());
  const scripts = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  t.match(scripts.build, /^tsc -p tsconfig\.json && tsx scripts\/build-pages\.ts --dist$/, 'the build runs the copy after tsc');
});
