import type { LightMyRequestResponse } from 'fastify';
import type { TestContext } from './app.js';
import { PASSWORD, uniqueEmail } from './factories.js';

/** A staged sign-up as a browser holds it: its cookie pair, ready for a Cookie header. */
export interface FlowClient {
  cookie: string;
  id: string;
}

/** The `signup_flow=...` pair of a response's flow cookie. */
export function flowCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'signup_flow');
  if (!cookie) throw new Error(`No signup_flow cookie in a ${response.statusCode} response: ${response.body}`);
  return `signup_flow=${cookie.value}`;
}

/** Requests of the staged sign-up, through the app. */
export function flowApi(ctx: TestContext) {
  const inject = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, cookie?: string, payload?: unknown) =>
    ctx.app.inject({ method, url, headers: cookie ? { cookie } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });
  return {
    start: () => inject('POST', '/v1/signup-flows', undefined, {}),
    get: (flow: FlowClient) => inject('GET', '/v1/signup-flows/current', flow.cookie),
    patch: (flow: FlowClient, body: Record<string, unknown>) => inject('PATCH', '/v1/signup-flows/current', flow.cookie, body),
    setEmail: (flow: FlowClient, body: Record<string, unknown>) => inject('PUT', '/v1/signup-flows/current/email', flow.cookie, body),
    verify: (flow: FlowClient, code: string) => inject('POST', '/v1/signup-flows/current/email/verify', flow.cookie, { code }),
    complete: (flow: FlowClient) => inject('POST', '/v1/signup-flows/current/complete', flow.cookie, {}),
    discard: (flow: FlowClient) => inject('DELETE', '/v1/signup-flows/current', flow.cookie),
    resume: (email: string) => inject('POST', '/v1/signup-flows/resume', undefined, { email }),
    resumeVerify: (email: string, code: string) => inject('POST', '/v1/signup-flows/resume/verify', undefined, { email, code }),
  };
}

/** The 6-digit code in the newest email to `email`, after running due jobs. */
export async function latestCode(ctx: TestContext, email: string): Promise<string> {
  await ctx.runJobs();
  const last = ctx.smtp.to(email).at(-1);
  if (!last) throw new Error(`No email was sent to ${email}.`);
  const match = /\b(\d{6})\b/.exec(last.text);
  if (!match) throw new Error(`No code in the email "${last.subject}".`);
  return match[1]!;
}

/** A valid address in the United States. */
export const US_ADDRESS = { line1: '1 Main St', city: 'Albany', region: 'NY', postalCode: '12207', country: 'US' };

/** Starts a flow. */
export async function startFlow(ctx: TestContext): Promise<FlowClient> {
  const response = await flowApi(ctx).start();
  if (response.statusCode !== 201) throw new Error(`Start failed: ${response.body}`);
  return { cookie: flowCookie(response), id: response.json().id };
}

/** Starts a flow and verifies its address (with or without marketing consent). */
export async function verifiedFlow(ctx: TestContext, options: { email?: string; marketingConsent?: boolean } = {}): Promise<FlowClient & { email: string }> {
  const api = flowApi(ctx);
  const flow = await startFlow(ctx);
  const email = options.email ?? uniqueEmail('flow');
  const set = await api.setEmail(flow, { email, ...(options.marketingConsent === undefined ? {} : { marketingConsent: options.marketingConsent }) });
  if (set.statusCode !== 202) throw new Error(`Setting the email failed: ${set.body}`);
  const verified = await api.verify(flow, await latestCode(ctx, email));
  if (verified.statusCode !== 200) throw new Error(`Verification failed: ${verified.body}`);
  return { ...flow, email };
}

/** A verified flow with every step filled, ready to complete; returns its version too. */
export async function readyFlow(ctx: TestContext, options: { email?: string; plan?: string } = {}): Promise<FlowClient & { email: string; version: number }> {
  const flow = await verifiedFlow(ctx, options);
  const version = (await flowApi(ctx).get(flow)).json().version;
  const saved = await flowApi(ctx).patch(flow, {
    version,
    profile: { firstName: 'Ada', lastName: 'Lovelace', password: PASSWORD },
    company: { name: 'Analytical Engines' },
    address: US_ADDRESS,
    plan: { id: options.plan ?? 'trial' },
  });
  if (saved.statusCode !== 200) throw new Error(`Saving failed: ${saved.body}`);
  return { ...flow, version: saved.json().version };
}
