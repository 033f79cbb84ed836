import type { Test } from 'tap';
import { createOnboardingClient, type OnboardingClient } from 'onboarding-service/client';
import type { App } from '../../src/http/types.js';

/** Listens on a free loopback port (the real server, not inject) and returns its base URL. */
export async function listening(app: App): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/** A fetch that keeps the session cookie like a browser would, and counts requests in flight. */
export function browserLikeFetch() {
  let cookie = '';
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const fetcher = async (input: Request): Promise<Response> => {
    const request = new Request(input);
    if (cookie) request.headers.set('cookie', cookie);
    stats.requests += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      const response = await fetch(request);
      for (const header of response.headers.getSetCookie()) {
        const [pair = ''] = header.split(';');
        const [name, value = ''] = pair.split('=');
        if (name === 'sid') cookie = value ? `sid=${value}` : '';
      }
      return response;
    } finally {
      stats.inFlight -= 1;
    }
  };
  return { fetch: fetcher, stats, cookie: () => cookie };
}

/** A typed client on its own cookie jar. */
export function clientFor(_t: Test, baseUrl: string, fetcher = browserLikeFetch()): { client: OnboardingClient; jar: ReturnType<typeof browserLikeFetch> } {
  return { client: createOnboardingClient({ baseUrl, fetch: fetcher.fetch }), jar: fetcher };
}
