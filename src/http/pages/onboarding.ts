import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../errors.js';
import type { OnboardingView } from '../../services/onboarding-service.js';
import type { MembershipView } from '../../services/views.js';
import { SESSION_COOKIE } from '../auth.js';
import { perIpLimit } from '../rate-limit-store.js';
import type { App } from '../types.js';
import { csrfInput, html, layout, type Html } from './html.js';
import type { PageDeps } from './index.js';
import { signInAgain, SignInFields, signInForm, signInOnPage, type SignInAttempt } from './sign-in.js';

/** Names people read for the default steps; a step added through ONBOARDING_STEPS shows its key in words. */
const STEP_LABELS: Record<string, string> = {
  profile_complete: 'Complete your profile',
  first_integration: 'Connect your first integration',
  invited_teammate: 'Invite a teammate',
  first_data_import: 'Import your first data',
};

/**
 * The draft form's fields: each is one key of the auto-saved draft `data`, tied to the step it
 * belongs to (sent as `currentStep` when edited). Keys the form does not know are kept as they are.
 */
export const DRAFT_FIELDS = [
  { key: 'role', label: 'Your role', step: 'profile_complete', kind: 'text', hint: 'For example: Head of Data.' },
  { key: 'companySize', label: 'Company size', step: 'profile_complete', kind: 'select', options: ['1-10', '11-50', '51-200', '201-1000', '1000+'] },
  { key: 'useCase', label: 'What do you want to do first?', step: 'profile_complete', kind: 'textarea' },
  { key: 'integration', label: 'Integration to connect first', step: 'first_integration', kind: 'text', hint: 'For example: Slack, Salesforce or a webhook.' },
  { key: 'teammates', label: 'Teammates to invite', step: 'invited_teammate', kind: 'textarea', hint: 'One email address a line.' },
  { key: 'dataSource', label: 'Where your data comes from', step: 'first_data_import', kind: 'text' },
] as const;

const TEXT_MAX = 200;
const TEXTAREA_MAX = 2000;

const Params = Type.Object({ workspaceId: Type.String({ format: 'uuid' }) });
const stepLabel = (key: string) => STEP_LABELS[key] ?? key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
const text = (value: unknown) => (typeof value === 'string' ? value : '');

function draftField(field: (typeof DRAFT_FIELDS)[number], data: Record<string, unknown>, readonly: boolean): Html {
  const id = `draft-${field.key}`;
  const value = text(data[field.key]);
  const hint = 'hint' in field ? html`<p class="hint" id="${id}-hint">${field.hint}</p>` : '';
  const common = html`id="${id}" name="${field.key}" data-step="${field.step}"${'hint' in field ? html` aria-describedby="${id}-hint"` : ''}${readonly ? html` disabled` : ''}`;
  const control =
    field.kind === 'select'
      ? html`<select ${common}><option value="">Not chosen</option>${field.options.map((o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${o}</option>`)}</select>`
      : field.kind === 'textarea'
        ? html`<textarea ${common} rows="3" maxlength="${TEXTAREA_MAX}">${value}</textarea>`
        : html`<input ${common} type="text" maxlength="${TEXT_MAX}" value="${value}">`;
  return html`<div class="field"><label for="${id}">${field.label}</label>${hint}${control}</div>`;
}

/**
 * `/onboarding/:workspaceId`: the setup wizard for a signed-in member. The steps checklist is plain
 * forms (it works without JavaScript); the draft form auto-saves every edit through the client's
 * AutoSaver (assets/onboarding.js, bundled from ./browser/onboarding.ts) with a live save status,
 * and a dialog settles a conflict with another tab or device field by field. Not signed in: a
 * sign-in form that comes back here. Signed in but not a member: a 403 page that names the account.
 */
export async function onboardingPages(app: App, { services, config, guards, cookies }: PageDeps): Promise<void> {
  const send = (reply: FastifyReply, status: number, title: string, body: Html) =>
    reply.code(status).type('text/html; charset=utf-8').send(layout({ title, body, scripts: ['/assets/pages.js', '/assets/onboarding.js'] }));
  const here = (workspaceId: string) => `/onboarding/${workspaceId}`;

  function signInPage(reply: FastifyReply, workspaceId: string, attempt: SignInAttempt = {}, status = 401) {
    return send(reply, status, 'Sign in to continue onboarding', html`<h1>Sign in to continue</h1>
<p>Sign in to pick up your workspace's setup where you left it.</p>
${signInForm(reply, `${here(workspaceId)}/sign-in`, attempt)}`);
  }

  function signOutForm(reply: FastifyReply, workspaceId: string): Html {
    return html`<form method="post" action="${here(workspaceId)}/sign-out">${csrfInput(reply.generateCsrf())}<button type="submit" class="secondary">Sign out</button></form>`;
  }

  async function forbiddenPage(reply: FastifyReply, workspaceId: string, accountId: string) {
    const { account } = await services.accounts.me(accountId);
    return send(reply, 403, 'No access to this workspace', html`<h1>You do not have access to this workspace</h1>
<p class="alert" role="alert" data-autofocus>You are signed in as ${account.email}, which is not a member of this workspace (or the workspace does not exist).</p>
<p>Ask one of its owners or admins to invite ${account.email}, or sign out and sign in with the account that was invited.</p>
${signOutForm(reply, workspaceId)}`);
  }

  /** The member's view of the workspace and its onboarding, or undefined when they are not a member. */
  async function memberView(workspaceId: string, accountId: string): Promise<{ workspace: MembershipView; onboarding: OnboardingView } | undefined> {
    try {
      const workspace = await services.workspaces.getForMember(workspaceId, accountId);
      return { workspace, onboarding: await services.onboarding.get(workspaceId, accountId) };
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  function checklist(reply: FastifyReply, workspaceId: string, onboarding: OnboardingView): Html {
    const editable = onboarding.status === 'in_progress';
    const csrf = csrfInput(reply.generateCsrf());
    return html`<ol class="checklist" id="steps">${onboarding.steps.map((step) => html`<li class="${step.completed ? 'done' : 'todo'}">
<span class="step-name">${stepLabel(step.key)}</span> <span class="step-state">${step.completed ? '(done)' : '(to do)'}</span>
${editable ? html`<form method="post" action="${here(workspaceId)}/steps" class="step-form">${csrf}<input type="hidden" name="step" value="${step.key}"><input type="hidden" name="done" value="${step.completed ? 'false' : 'true'}">
<button type="submit" class="secondary" aria-label="${step.completed ? 'Mark as not done' : 'Mark as done'}: ${stepLabel(step.key)}">${step.completed ? 'Undo' : 'Mark as done'}</button></form>` : ''}
</li>`)}</ol>`;
  }

  function wizardPage(reply: FastifyReply, account: string, view: { workspace: MembershipView; onboarding: OnboardingView }, notice?: string, status = 200) {
    const { workspace, onboarding } = view;
    const readonly = onboarding.status !== 'in_progress';
    const done = onboarding.steps.filter((s) => s.completed).length;
    return send(reply, status, `Set up ${workspace.name}`, html`<h1>Set up ${workspace.name}</h1>
<p class="muted">Signed in as ${account}.</p>${signOutForm(reply, workspace.id)}
${notice ? html`<p class="alert" role="alert" data-autofocus>${notice}</p>` : ''}
${onboarding.status === 'completed' ? html`<p class="success" role="status">Onboarding is complete. Everything below stays as you left it.</p>` : ''}
${onboarding.status === 'closed' ? html`<p class="alert" role="alert">This workspace is closed, so its onboarding cannot change. An admin can reopen it.</p>` : ''}
<h2 id="steps-heading">Steps <span class="muted">(${done} of ${onboarding.steps.length} done)</span></h2>
${checklist(reply, workspace.id, onboarding)}
<h2 id="draft-heading">Your answers</h2>
<p class="muted" id="draft-help">Every answer is saved as you type. Open this page on another device to carry on there.</p>
<form id="draft-form" aria-labelledby="draft-heading" aria-describedby="draft-help" data-workspace-id="${workspace.id}" data-version="${onboarding.version}" data-draft="${JSON.stringify(onboarding.data)}" data-current-step="${onboarding.currentStep ?? ''}" novalidate>
${DRAFT_FIELDS.map((f) => draftField(f, onboarding.data, readonly))}
<noscript><p class="alert">Saving answers needs JavaScript, which is turned off. The steps above work without it.</p></noscript>
</form>
<div class="save-bar"><p id="save-status" role="status" aria-live="polite" data-state="${readonly ? 'readonly' : 'saved'}">${readonly ? '' : 'All changes saved.'}</p>
<button type="button" id="save-retry" class="secondary" hidden>Try again</button>
<button type="button" id="conflict-review" class="secondary" hidden>Review the conflict</button></div>
<dialog id="conflict-dialog" aria-labelledby="conflict-title" aria-describedby="conflict-intro">
<h2 id="conflict-title">Changed on another tab or device</h2>
<p id="conflict-intro">While you were editing, these answers were saved somewhere else. Choose which to keep.</p>
<div class="table-wrap"><table><caption>Answers that differ</caption>
<thead><tr><th scope="col">Answer</th><th scope="col">Saved elsewhere</th><th scope="col">Your edit</th></tr></thead>
<tbody id="conflict-rows"></tbody></table></div>
<p id="conflict-merged" class="muted" hidden></p>
<div class="dialog-actions"><button type="button" id="conflict-theirs" class="secondary">Use theirs</button> <button type="button" id="conflict-mine">Keep mine</button></div>
</dialog>`);
  }

  /** The signed-in member's page, or the sign-in or 403 page that stands in for it. */
  async function showWizard(request: FastifyRequest, reply: FastifyReply, workspaceId: string, notice?: string, status = 200) {
    if (!request.accountId) return signInPage(reply, workspaceId);
    const view = await memberView(workspaceId, request.accountId);
    if (!view) return forbiddenPage(reply, workspaceId, request.accountId);
    const { account } = await services.accounts.me(request.accountId);
    return wizardPage(reply, account.email, view, notice, status);
  }

  app.get('/onboarding/:workspaceId', { preHandler: guards.optionalAccount, schema: { hide: true, params: Params } }, async (request, reply) =>
    showWizard(request, reply, request.params.workspaceId),
  );

  app.post(
    '/onboarding/:workspaceId/sign-in',
    {
      onRequest: perIpLimit(app, 'sign-ins-per-ip', config.rateLimits.signInsPerIpPerMinute, 60_000),
      preHandler: app.csrfProtection,
      config: { pageForm: (request, reply, errors) => signInPage(reply, (request.params as { workspaceId: string }).workspaceId, signInAgain(request, errors), 400) },
      schema: { hide: true, params: Params, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), email: Type.Optional(SignInFields.email), password: Type.Optional(SignInFields.password) }) },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const outcome = await signInOnPage(services, cookies, request, reply, request.body);
      if (outcome.failed) return signInPage(reply, workspaceId, outcome.attempt, outcome.status);
      return reply.code(303).redirect(here(workspaceId));
    },
  );

  app.post('/onboarding/:workspaceId/sign-out', { preHandler: app.csrfProtection, schema: { hide: true, params: Params, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }) }) } }, async (request, reply) => {
    const session = request.cookies[SESSION_COOKIE];
    if (session) await services.sessions.signOut(session);
    cookies.clear(reply);
    return reply.code(303).redirect(here(request.params.workspaceId));
  });

  app.post(
    '/onboarding/:workspaceId/steps',
    {
      preHandler: [app.csrfProtection, guards.optionalAccount],
      schema: {
        hide: true,
        params: Params,
        body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), step: Type.String({ minLength: 1, maxLength: 64 }), done: Type.Union([Type.Literal('true'), Type.Literal('false')]) }),
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      if (!request.accountId) return signInPage(reply, workspaceId);
      const { step, done } = request.body;
      try {
        if (done === 'true') await services.onboarding.completeStep(workspaceId, request.accountId, step);
        else await services.onboarding.uncompleteStep(workspaceId, request.accountId, step);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (error.code === 'not_found') return forbiddenPage(reply, workspaceId, request.accountId);
        // A closed workspace, completed onboarding, an unknown step: say so on the page itself.
        return showWizard(request, reply, workspaceId, error.detail, 409);
      }
      return reply.code(303).redirect(`${here(workspaceId)}#steps-heading`);
    },
  );
}
