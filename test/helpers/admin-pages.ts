import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/http/types.js';
import type { TestContext } from './app.js';

/** A workspace's trial end, in milliseconds, as stored. */
export async function trialEnd(ctx: Pick<TestContext, 'runtime'>, workspaceId: string): Promise<number> {
  const row = await ctx.runtime.db.selectFrom('workspaces').select('trial_ends_at').where('id', '=', workspaceId).executeTakeFirstOrThrow();
  return row.trial_ends_at!.getTime();
}

/** The value of a hidden input (`_csrf`, `idempotencyKey`) in a rendered form. */
export function hiddenValue(body: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]+)"`).exec(body);
  if (!match) throw new Error(`No ${name} input on the page.`);
  return match[1]!;
}

/** The admin pages as a browser without JavaScript sees them, through app.inject: a cookie jar and form posts. */
export class AdminBrowser {
  private readonly jar = new Map<string, string>();

  constructor(private readonly app: App) {}

  /** Signs in as Olivia Ops with `adminToken`. */
  static async signIn(app: App, adminToken: string): Promise<AdminBrowser> {
    const browser = new AdminBrowser(app);
    const form = await browser.get('/admin');
    const signedIn = await browser.post('/admin/sign-in', form.body, { actor: 'Olivia Ops', token: adminToken });
    if (signedIn.statusCode !== 303) throw new Error(`Admin sign-in failed: ${signedIn.statusCode}`);
    return browser;
  }

  /** The Cookie header this browser sends. */
  cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  value(name: string): string | undefined {
    return this.jar.get(name);
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookie() } }));
  }

  /** Posts a form as the page `page` rendered it: its CSRF token and every field of `fields`. */
  post(url: string, page: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.submit(url, { _csrf: hiddenValue(page, '_csrf'), ...fields });
  }

  /** Posts exactly these fields. */
  async submit(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: 'POST',
      url,
      headers: { cookie: this.cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });
    return this.keep(response);
  }

  private keep(response: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of response.cookies) {
      if (c.value === '' || (c.expires && c.expires.getTime() <= Date.now())) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
    return response;
  }
}
