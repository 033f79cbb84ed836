import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/http/types.js';

/** A page opened with app.inject, whose forms can then be posted back as a browser would (form body, CSRF token and cookies). */
export interface OpenedPage {
  response: LightMyRequestResponse;
  csrf: string;
  cookie: string;
  /** POSTs `fields` (plus the page's CSRF token unless `_csrf` is given) as application/x-www-form-urlencoded. */
  post(url: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** GETs a page (with `cookie`, e.g. a session) and keeps what posting its forms needs. */
export async function openPage(app: App, url: string, cookie = ''): Promise<OpenedPage> {
  const response = await app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
  if (!csrf) throw new Error(`The page ${url} has no form with a CSRF token (status ${response.statusCode}).`);
  const cookies = [cookie, ...response.cookies.map((c) => `${c.name}=${c.value}`)].filter(Boolean).join('; ');
  return {
    response,
    csrf,
    cookie: cookies,
    post: (action, fields, headers = {}) =>
      app.inject({
        method: 'POST',
        url: action,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies, ...headers },
        payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
      }),
  };
}

/** The opening tag of the input named `name` in an HTML page, or undefined. */
export function inputTag(body: string, name: string): string | undefined {
  return new RegExp(`<input[^>]*\\bname="${name.replace(/[.]/g, '\\.')}"[^>]*>`).exec(body)?.[0];
}
