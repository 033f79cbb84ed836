import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/http/types.js';
import type { TestContext } from './app.js';
import { tokenFrom } from './smtp.js';

/** An address no other test uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/** The `sid=...` pair of a response's session cookie, to send back as a Cookie header. */
export function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'sid');
  if (!cookie) throw new Error(`No session cookie in a ${response.statusCode} response.`);
  return `sid=${cookie.value}`;
}

/** POST /v1/registrations with a valid body, overridable. */
export function register(app: App, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/registrations',
    headers,
    payload: { email: uniqueEmail(), password: PASSWORD, name: 'Ada Lovelace', workspaceName: 'Analytical Engines', ...body },
  });
}

/** A signed-up owner: account, workspace and session cookie. */
export interface Owner {
  email: string;
  accountId: string;
  workspaceId: string;
  cookie: string;
}

/** Signs someone up and returns what later steps need. */
export async function signUp(app: App, body: Record<string, unknown> = {}): Promise<Owner> {
  const email = (body.email as string | undefined) ?? uniqueEmail('owner');
  const response = await register(app, { ...body, email });
  if (response.statusCode !== 201) throw new Error(`Registration failed: ${response.body}`);
  const json = response.json();
  return { email, accountId: json.account.id, workspaceId: json.workspace.id, cookie: sessionCookie(response) };
}

/** The token of the newest email sent to `email`, after running due jobs. */
export async function latestToken(ctx: TestContext, email: string): Promise<string> {
  await ctx.runJobs();
  const mails = ctx.smtp.to(email);
  const last = mails.at(-1);
  if (!last) throw new Error(`No email was sent to ${email}.`);
  return tokenFrom(last);
}

/** Signs someone up and confirms their email, so their trial runs. */
export async function signUpVerified(ctx: TestContext, body: Record<string, unknown> = {}): Promise<Owner> {
  const owner = await signUp(ctx.app, body);
  const token = await latestToken(ctx, owner.email);
  const response = await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } });
  if (response.statusCode !== 200) throw new Error(`Confirmation failed: ${response.body}`);
  return owner;
}

/** Runs `count` copies of a request at once and returns the responses. */
export function concurrently<T>(count: number, request: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => request(i)));
}

/** How many responses had each status, e.g. {201: 1, 409: 19}. */
export function statusCounts(responses: LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
  return counts;
}

/** POST an invitation as `inviter`. */
export function invite(app: App, inviter: { cookie: string }, workspaceId: string, email: string, role = 'member') {
  return app.inject({ method: 'POST', url: `/v1/workspaces/${workspaceId}/invitations`, headers: { cookie: inviter.cookie }, payload: { email, role } });
}

/** POST /v1/invitations/accept, signed in when a cookie is given. */
export function acceptInvitation(app: App, body: Record<string, unknown>, cookie?: string) {
  return app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: body, headers: cookie ? { cookie } : {} });
}

/** A teammate who joined `workspaceId` with `role` through a real invitation, as a newcomer. */
export async function addMember(ctx: TestContext, owner: Owner, role: 'owner' | 'admin' | 'member'): Promise<Owner> {
  const email = uniqueEmail(role);
  const invited = await invite(ctx.app, owner, owner.workspaceId, email, role);
  if (invited.statusCode !== 201) throw new Error(`Invitation failed: ${invited.body}`);
  const token = await latestToken(ctx, email);
  const accepted = await acceptInvitation(ctx.app, { token, name: `New ${role}`, password: PASSWORD });
  if (accepted.statusCode !== 201) throw new Error(`Accept failed: ${accepted.body}`);
  return { email, accountId: accepted.json().accountId, workspaceId: owner.workspaceId, cookie: sessionCookie(accepted) };
}
