/**
 * The typed client of the onboarding API, for browsers and Node alike (no Node-only import here):
 * `createOnboardingClient({ baseUrl })` gives openapi-fetch's GET/POST/PUT/PATCH/DELETE typed by the
 * service's OpenAPI document (see schema.d.ts, made by `npm run client:generate`).
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

export type { components, operations, paths };
export { AutoSaver, type AutoSaverOptions, type Draft, type SaveStatus, type ServerDraft, type Timers, type Connectivity } from './auto-saver.js';

/** A client of the onboarding API. */
export type OnboardingClient = Client<paths>;

/** A problem document, as every error of the API is. */
export type Problem = components['schemas']['Problem'];

/**
 * A client for the API at `baseUrl`. Cookies travel with every request (`credentials: 'include'`), so
 * in a browser the session cookie set by sign-up or sign-in is sent back; pass your own `fetch` in
 * Node (where fetch keeps no cookies) or in tests.
 */
export function createOnboardingClient(options: ClientOptions & { baseUrl: string }): OnboardingClient {
  return createClient<paths>({ credentials: 'include', ...options });
}
