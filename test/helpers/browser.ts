import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { testContext, type TestContext } from './app.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of each page's states (git-ignored). */
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '..', '..', '.screenshots');

/**
 * Debian's Chromium, headless, with nothing talking to the network on its own; Playwright gives each
 * launch a fresh temporary profile (user-data dir) and removes it on close. No browser can be
 * downloaded here, so a missing Chromium fails the test and says what to install.
 */
export async function launchChromium(t: Test, executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium is missing at ${executablePath}: install it with \`apt-get install -y chromium\` (.ci/run does this), or set CHROMIUM_PATH.`);
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  t.teardown(() => browser.close());
  return browser;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The service listening on a free port, with APP_BASE_URL pointing at it so emailed links open its pages. */
export async function liveService(t: Test, env: Record<string, string> = {}, options: { captureLogs?: boolean } = {}): Promise<TestContext & { baseUrl: string }> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const ctx = await testContext(t, { env: { APP_BASE_URL: baseUrl, ...env }, captureLogs: options.captureLogs });
  await ctx.app.listen({ port, host: '127.0.0.1' });
  return { ...ctx, baseUrl };
}

/** A new browser context (its own cookies; `options` for a phone's screen) whose pages fail the test on any CSP violation or page error. */
export async function newContext(t: Test, browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  t.teardown(() => context.close());
  context.on('page', (page) => watch(t, page));
  return context;
}

function watch(t: Test, page: Page): void {
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) t.fail(`CSP violation: ${message.text()}`);
  });
  page.on('pageerror', (error) => t.fail(`page error: ${error.message}`));
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core run in the page: the serious and critical violations, as readable lines. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not cover.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.join(', ')})`);
}

/** Checks accessibility and writes a screenshot named after the page's state. */
export async function checkPage(t: Test, page: Page, state: string): Promise<void> {
  t.same(await accessibilityProblems(page), [], `${state}: no serious or critical accessibility violation`);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${state}.png`), fullPage: true });
}
