import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { AppError } from '../../errors.js';
import { PersonName, SingleLine } from '../schemas/common.js';
import type { AdminWorkspaceView } from '../../services/admin-service.js';
import { perIpLimit } from '../rate-limit-store.js';
import { CSV_COLUMNS, sendCsv } from '../routes/admin.js';
import { LEAD_CSV_COLUMNS } from '../routes/signup-admin.js';
import type { App } from '../types.js';
import { adminPageSessions } from './admin-session.js';
import { csrfInput, field, html, layout, type FieldErrors, type Html } from './html.js';
import type { PageDeps } from './index.js';
import { formErrors, typed, validFields, type PageFormRenderer } from './page-forms.js';
import { billingSection, CURSOR_BROKEN, cursorField, filterAlert, filterInput, leadFilterOf, leadsPage, LeadFilters, MAX_CURSOR, when, words } from './admin-views.js';

const TRIAL_STATES = ['pending_verification', 'active', 'ending_soon', 'expired'] as const;
const STATUSES = ['active', 'closed'] as const;
const ONBOARDING = ['in_progress', 'completed'] as const;

/** The bounds the forms' inputs announce and the handlers enforce. */
const MAX = { q: 200, actor: 100, token: 500, reason: 500 } as const;
/** The name recorded in the audit log: one printable line of at most 100 characters after trimming, as a person's name ("Enter your name" is the handler's). */
const Actor = PersonName(undefined, 0);
/** An audit reason: at most 500 characters after trimming (an empty one is the handler's to explain). */
const Reason = SingleLine(0, MAX.reason);
const DAYS = { min: 1, max: 365 } as const;

const Filters = Type.Object({
  q: Type.Optional(Type.String({ maxLength: MAX.q })),
  trialState: Type.Optional(Type.String({ maxLength: 50 })),
  plan: Type.Optional(Type.String({ maxLength: 50 })),
  status: Type.Optional(Type.String({ maxLength: 50 })),
  onboarding: Type.Optional(Type.String({ maxLength: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: MAX_CURSOR })),
});
type FilterQuery = Static<typeof Filters>;

/**
 * The filter a query asks for, with only the values the admin API accepts (`plans`: the configured
 * plan ids and one still in use, see plansOffered), and what was wrong: a choice no select offers (an edited address) is an error on that
 * select, not silently dropped. Empty is "Any".
 */
function filterOf(query: FilterQuery, plans: readonly string[]) {
  const errors: FieldErrors = {};
  const pick = <T extends string>(name: keyof FilterQuery, allowed: readonly T[]): T | undefined => {
    const value = query[name]?.trim();
    if (!value) return undefined;
    if (allowed.includes(value as T)) return value as T;
    errors[name] = `Choose one of the options: ${['any', ...allowed.map(words)].join(', ')}.`;
    return undefined;
  };
  const filter = {
    q: query.q?.trim() || undefined,
    plan: pick('plan', plans),
    trialState: pick('trialState', TRIAL_STATES),
    status: pick('status', STATUSES),
    onboarding: pick('onboarding', ONBOARDING),
  };
  return Object.keys(errors).length ? { filter, errors } : { filter };
}

function select(name: string, label: string, options: readonly string[], value: string | undefined, errors: FieldErrors | undefined): Html {
  const id = `filter-${name}`;
  const error = errors?.[name];
  return html`<div class="field"><label for="${id}">${label}</label>${error ? html`<p class="error" id="${id}-error">${error}</p>` : ''}
<select id="${id}" name="${name}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}><option value="">Any</option>${options.map((o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${words(o)}</option>`)}</select></div>`;
}

/**
 * `/admin`: the trial console. Signing in with ADMIN_TOKEN starts a page session kept in an
 * HttpOnly, SameSite=Strict cookie (the token itself never reaches the page or its JavaScript);
 * the list of workspaces with the admin API's filters, paging and CSV; a workspace's detail with
 * members, invitations, onboarding and audit events; extending a trial with a reason (audited under
 * the name given at sign-in).
 */
export async function adminPages(app: App, { services, config, secure }: PageDeps): Promise<void> {
  const sessions = adminPageSessions(services.adminPageSessions, secure);
  const plans = config.plans.map((plan) => plan.id);
  /** The plan choices: PLANS, and the asked-for plan when workspaces are still on it (removed from PLANS since). */
  const plansOffered = async (asked: string | undefined): Promise<readonly string[]> => {
    const value = asked?.trim();
    return value && !plans.includes(value) && (await services.admin.isFilterablePlan(value)) ? [...plans, value] : plans;
  };
  const send = (reply: FastifyReply, status: number, title: string, body: Html) =>
    reply.code(status).type('text/html; charset=utf-8').header('x-robots-tag', 'noindex').send(layout({ title, body }));

  function signInPage(reply: FastifyReply, status: number, attempt: { actor?: string; errors?: FieldErrors; alert?: string; returnTo?: string } = {}) {
    const configured = config.adminToken !== undefined;
    return send(reply, status, 'Admin sign-in', html`<h1>Admin sign-in</h1>
${configured ? '' : html`<p class="alert" role="alert">Admin access is not configured on this server: set ADMIN_TOKEN (at least 32 characters).</p>`}
${attempt.alert ? html`<p class="alert" role="alert" id="form-alert" data-autofocus>${attempt.alert}</p>` : ''}
<form method="post" action="/admin/sign-in" novalidate>${csrfInput(reply.generateCsrf())}
${attempt.returnTo ? html`<input type="hidden" name="returnTo" value="${attempt.returnTo}">` : ''}
${field({ name: 'actor', label: 'Your name or email', value: attempt.actor, autocomplete: 'username', maxlength: MAX.actor, hint: 'Recorded in the audit log with every change you make.', errors: attempt.errors })}
${field({ name: 'token', label: 'Admin token', type: 'password', autocomplete: 'current-password', maxlength: MAX.token, errors: attempt.errors })}
<button type="submit">Sign in</button>
</form>`);
  }

  /** The sign-in form again after its body failed the schema: the name typed (never the token), the errors, the deep link. */
  const signInAgain: PageFormRenderer = (request, reply, errors) =>
    signInPage(reply, 400, { actor: typed(request.body, 'actor'), errors, alert: 'Sign-in failed.', returnTo: returnPath(typed(request.body, 'returnTo')) });

  /** The signed-in admin, or a sign-in page sent instead, which comes back to the page asked for. */
  async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const actor = await sessions.actor(request);
    if (!actor) void signInPage(reply, 401, { returnTo: request.method === 'GET' ? returnPath(request.url) : undefined });
    return actor;
  }

  const header = (reply: FastifyReply, actor: string) => html`<nav aria-label="Admin"><a href="/admin">Trials</a> · <a href="/admin/leads">Leads</a></nav>
<p class="muted">Signed in as ${actor}.</p>
<form method="post" action="/admin/sign-out">${csrfInput(reply.generateCsrf())}<button type="submit" class="secondary">Sign out</button></form>`;

  app.post(
    '/admin/sign-in',
    {
      onRequest: perIpLimit(app, 'sign-ins-per-ip', config.rateLimits.signInsPerIpPerMinute, 60_000),
      preHandler: app.csrfProtection,
      config: { pageForm: signInAgain },
      schema: { hide: true, body: Type.Object({
          _csrf: Type.String({ maxLength: 200 }),
          actor: Type.Optional(Actor),
          token: Type.Optional(Type.String({ maxLength: MAX.token })),
          returnTo: Type.Optional(Type.String({ maxLength: 2000 })),
        }),
      },
    },
    async (request, reply) => {
      const actor = (request.body.actor ?? '').trim();
      const errors: FieldErrors = {};
      // Length and control characters are the schema's (Actor); a body that fails it comes back through signInAgain.
      if (!actor) errors.actor = 'Enter your name or email.';
      if (!sessions.tokenMatches(request.body.token ?? '')) errors.token = 'This is not the admin token.';
      const returnTo = returnPath(request.body.returnTo);
      if (Object.keys(errors).length > 0) return signInPage(reply, errors.token ? 401 : 400, { actor, errors, alert: 'Sign-in failed.', returnTo });
      await sessions.start(reply, actor);
      return reply.code(303).redirect(returnTo ?? '/admin');
    },
  );

  app.post('/admin/sign-out', { preHandler: app.csrfProtection, schema: { hide: true, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }) }) } }, async (request, reply) => {
    await sessions.end(request, reply);
    return reply.code(303).redirect('/admin');
  });

  /** The trials list after its filters failed the schema (an edited address): the valid ones applied, each error tied to its filter. */
  const listAgain: PageFormRenderer = async (request, reply, errors) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    return listPage(reply, actor, validFields(request.query, errors), errors);
  };

  app.get('/admin', { schema: { hide: true, querystring: Filters }, config: { pageForm: listAgain } }, async (request, reply) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    return listPage(reply, actor, request.query);
  });

  async function listPage(reply: FastifyReply, actor: string, query: FilterQuery, schemaErrors?: FieldErrors) {
    const offered = await plansOffered(query.plan);
    const { filter, errors: filterErrors } = filterOf(query, offered);
    const { page, badCursor } = await pageOrFirst(query.cursor, (cursor) => services.admin.listWorkspaces(filter, { limit: 25, cursor }));
    const cursorError = badCursor ? { cursor: CURSOR_BROKEN } : undefined;
    const errors = schemaErrors || filterErrors || cursorError ? { ...schemaErrors, ...filterErrors, ...cursorError } : undefined;
    const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
    const next = page.nextCursor ? `/admin?${new URLSearchParams([...params, ['cursor', page.nextCursor]])}` : undefined;
    return send(reply, errors ? 400 : 200, 'Trials', html`<h1>Trials</h1>${header(reply, actor)}
${filterAlert(errors)}
<form method="get" action="/admin" class="filters" role="search" aria-label="Filter workspaces">
${filterInput('q', 'Workspace name or owner email', 'search', MAX.q, filter.q, errors)}
${select('trialState', 'Trial', TRIAL_STATES, filter.trialState, errors)}
${select('status', 'Status', STATUSES, filter.status, errors)}
${select('onboarding', 'Onboarding', ONBOARDING, filter.onboarding, errors)}
${select('plan', 'Plan', offered, filter.plan, errors)}
${cursorField(errors)}
<button type="submit">Filter</button>
</form>
<p><a href="/admin/workspaces.csv${params.size > 0 ? `?${params}` : ''}" download>Download CSV</a> of every matching workspace</p>
${page.items.length === 0 ? html`<p>No workspace matches.</p>` : workspaceTable(page.items)}
${next ? html`<p><a href="${next}">Next page</a></p>` : ''}`);
  }

  function workspaceTable(items: AdminWorkspaceView[]): Html {
    return html`<div class="table-wrap"><table>
<caption>Workspaces, newest first</caption>
<thead><tr><th scope="col">Workspace</th><th scope="col">Owner</th><th scope="col">Plan</th><th scope="col">Trial</th><th scope="col">Trial ends</th><th scope="col">Members</th><th scope="col">Onboarding</th></tr></thead>
<tbody>${items.map((w) => html`<tr>
<th scope="row"><a href="/admin/workspaces/${w.id}">${w.name}</a></th><td>${w.owner?.email ?? '—'}</td><td>${w.plan}</td><td>${words(w.trialState)}</td><td>${when(w.trialEndsAt)}</td><td>${w.memberCount}</td><td>${words(w.onboarding.status)}</td>
</tr>`)}</tbody></table></div>`;
  }

  app.get('/admin/workspaces.csv', { schema: { hide: true, querystring: Filters } }, async (request, reply) => {
    if (!(await requireAdmin(request, reply))) return reply;
    const { filter, errors } = filterOf(request.query, await plansOffered(request.query.plan));
    if (errors) throw editedDownloadLink(errors);
    return sendCsv(reply, 'workspaces.csv', CSV_COLUMNS, services.admin.allWorkspaces(filter));
  });

  const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });

  async function detailPage(reply: FastifyReply, actor: string, id: string, form: { errors?: FieldErrors; days?: string; reason?: string; notice?: string; alert?: string; reopenErrors?: FieldErrors; reopenReason?: string } = {}, status = 200) {
    const detail = await services.admin.workspaceDetail(id);
    const w = detail.workspace;
    return send(reply, status, w.name, html`<p><a href="/admin">All trials</a></p>
<h1>${w.name}</h1>${header(reply, actor)}
${form.notice ? html`<p class="success" role="status" data-autofocus>${form.notice}</p>` : ''}
${form.alert ? html`<p class="alert" role="alert" id="page-alert" data-autofocus>${form.alert}</p>` : ''}
<dl>
<dt>Owner</dt><dd>${w.owner ? `${w.owner.name} <${w.owner.email}>${w.owner.emailVerified ? '' : ' (unverified)'}` : '—'}</dd>
<dt>Plan</dt><dd>${w.plan}</dd>
<dt>Status</dt><dd>${w.status}</dd>
<dt>Trial</dt><dd>${words(w.trialState)}${w.trialDaysLeft !== null ? `, ${w.trialDaysLeft} days left` : ''}</dd>
<dt>Trial ends</dt><dd id="trial-ends">${when(w.trialEndsAt)}</dd>
<dt>Created</dt><dd>${when(w.createdAt)}</dd>
<dt>Onboarding</dt><dd>${words(w.onboarding.status)} (${w.onboarding.completedSteps.length ? w.onboarding.completedSteps.join(', ') : 'no step done'})</dd>
</dl>
<h2>Extend the trial</h2>
${form.errors ? html`<p class="alert" role="alert" id="form-alert" data-autofocus>The trial was not changed.</p>` : ''}
<form method="post" action="/admin/workspaces/${w.id}/extend-trial" novalidate>${csrfInput(reply.generateCsrf())}${onceInput()}
${field({ name: 'days', label: 'Days to add', type: 'number', value: form.days ?? '7', ...DAYS, hint: `From ${DAYS.min} to ${DAYS.max}, added to the later of the trial end and now.`, errors: form.errors })}
${field({ name: 'reason', label: 'Reason', value: form.reason, maxlength: MAX.reason, hint: 'Kept in the audit log.', errors: form.errors })}
<button type="submit">Extend trial</button>
</form>
${w.status === 'closed' ? html`<h2>Reopen the workspace</h2>
${form.reopenErrors ? html`<p class="alert" role="alert" id="reopen-alert" data-autofocus>The workspace was not reopened.</p>` : ''}
<form method="post" action="/admin/workspaces/${w.id}/reopen" novalidate>${csrfInput(reply.generateCsrf())}${onceInput()}
${field({ name: 'reopenReason', label: 'Reason for reopening', value: form.reopenReason, maxlength: MAX.reason, hint: 'Kept in the audit log.', errors: form.reopenErrors })}
<button type="submit">Reopen workspace</button>
</form>` : ''}
${billingSection(detail.billing, detail.billingSagas)}
<h2>Members</h2>
<ul>${detail.members.map((m) => html`<li>${m.name} &lt;${m.email}&gt;, ${m.role}</li>`)}</ul>
<h2>Pending invitations</h2>
${detail.pendingInvitations.length ? html`<ul>${detail.pendingInvitations.map((i) => html`<li>${i.email}, ${i.role}, expires ${when(i.expiresAt)}</li>`)}</ul>` : html`<p>None.</p>`}
<h2>Audit events</h2>
<div class="table-wrap"><table id="audit-events"><caption>Newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Details</th></tr></thead>
<tbody>${detail.auditEvents.map((e) => html`<tr><td>${when(e.occurredAt)}</td><td>${e.actorType}${e.actorId ? `: ${e.actorId}` : ''}</td><td>${e.action}</td><td><code>${JSON.stringify(e.data)}</code></td></tr>`)}</tbody>
</table></div>`);
  }

  app.get('/admin/workspaces/:id', { schema: { hide: true, params: Params, querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 20 })) }) } }, async (request, reply) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    const notice = request.query.done === 'extended' ? 'The trial was extended.' : request.query.done === 'reopened' ? 'The workspace was reopened.' : undefined;
    return detailPage(reply, actor, request.params.id, notice ? { notice } : {});
  });

  /** The extend form again after its body failed the schema: the handler's own checks of what was typed, which word a field better where both speak (days), and the schema's errors. */
  const extendAgain: PageFormRenderer = async (request, reply, schemaErrors) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    const { days, reason, errors } = extensionOf({ days: typed(request.body, 'days'), reason: typed(request.body, 'reason') });
    return detailPage(reply, actor, (request.params as { id: string }).id, { errors: { ...schemaErrors, ...errors }, days, reason }, 400);
  };

  /** The reopen form again after its body failed the schema. */
  const reopenAgain: PageFormRenderer = async (request, reply, reopenErrors) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    return detailPage(reply, actor, (request.params as { id: string }).id, { reopenErrors, reopenReason: typed(request.body, 'reopenReason')?.trim() }, 400);
  };

  app.post(
    '/admin/workspaces/:id/extend-trial',
    {
      preHandler: app.csrfProtection,
      schema: {
        hide: true,
        params: Params,
        body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), idempotencyKey: OnceKey, days: Type.Optional(Type.String({ maxLength: 20 })), reason: Type.Optional(Reason) }),
      },
      config: { pageForm: extendAgain },
    },
    async (request, reply) => {
      const actor = await requireAdmin(request, reply);
      if (!actor) return reply;
      const { days, reason, extendDays, errors } = extensionOf(request.body);
      if (Object.keys(errors).length > 0) return detailPage(reply, actor, request.params.id, { errors, days, reason }, 400);
      const changed = await actedOnce(() => services.admin.changeTrial(request.params.id, { type: 'admin', id: actor }, { extendDays, reason }, request.body.idempotencyKey), { extendDays: 'days' });
      if (changed !== true) return detailPage(reply, actor, request.params.id, changed ? { errors: changed, days, reason } : { alert: ALREADY_SENT, days, reason }, changed ? 400 : 409);
      return reply.code(303).redirect(`/admin/workspaces/${request.params.id}?done=extended`);
    },
  );

  app.post(
    '/admin/workspaces/:id/reopen',
    {
      preHandler: app.csrfProtection,
      schema: { hide: true, params: Params, body: Type.Object({ _csrf: Type.String({ maxLength: 200 }), idempotencyKey: OnceKey, reopenReason: Type.Optional(Reason) }) },
      config: { pageForm: reopenAgain },
    },
    async (request, reply) => {
      const actor = await requireAdmin(request, reply);
      if (!actor) return reply;
      const reason = (request.body.reopenReason ?? '').trim();
      const problem = reasonError(reason);
      if (problem) return detailPage(reply, actor, request.params.id, { reopenErrors: { reopenReason: problem }, reopenReason: reason }, 400);
      const reopened = await actedOnce(() => services.admin.reopen(request.params.id, { type: 'admin', id: actor }, reason, request.body.idempotencyKey));
      if (!reopened) return detailPage(reply, actor, request.params.id, { alert: ALREADY_SENT, reopenReason: reason }, 409);
      return reply.code(303).redirect(`/admin/workspaces/${request.params.id}?done=reopened`);
    },
  );

  /** The leads list after its filters failed the schema: the valid ones applied, each error tied to its filter. */
  const leadsAgain: PageFormRenderer = async (request, reply, errors) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    return leadsList(reply, actor, validFields(request.query, errors), errors);
  };

  app.get('/admin/leads', { schema: { hide: true, querystring: LeadFilters }, config: { pageForm: leadsAgain } }, async (request, reply) => {
    const actor = await requireAdmin(request, reply);
    if (!actor) return reply;
    return leadsList(reply, actor, request.query);
  });

  async function leadsList(reply: FastifyReply, actor: string, query: Static<typeof LeadFilters>, schemaErrors?: FieldErrors) {
    const { filter, params, errors } = leadFilterOf(query);
    const { page, badCursor } = await pageOrFirst(query.cursor, (cursor) => services.signupLeads.list(filter, { limit: 25, cursor }));
    const cursorError = badCursor ? { cursor: CURSOR_BROKEN } : undefined;
    const allErrors = errors || schemaErrors || cursorError ? { ...schemaErrors, ...errors, ...cursorError } : undefined;
    return send(reply, allErrors ? 400 : 200, 'Leads', leadsPage(header(reply, actor), query, params, page, allErrors));
  }

  app.get('/admin/leads.csv', { schema: { hide: true, querystring: LeadFilters } }, async (request, reply) => {
    if (!(await requireAdmin(request, reply))) return reply;
    const { filter, errors } = leadFilterOf(request.query);
    if (errors) throw editedDownloadLink(errors);
    return sendCsv(reply, 'leads.csv', LEAD_CSV_COLUMNS, services.signupLeads.all(filter));
  });
}

/** An action form's idempotency key: every rendering gets a new one, so a double submit (or a resubmit) of that form acts once. */
const onceInput = () => html`<input type="hidden" name="idempotencyKey" value="${randomUUID()}">`;
const OnceKey = Type.Optional(Type.String({ minLength: 1, maxLength: 255 }));

/** A form sent again with other values (back, edit, send): its one-time key already acted, so this change was not made. */
const ALREADY_SENT = 'Nothing was changed: this form was already sent with other values, and the page below shows the result. Send the form again to make this change too.';

/**
 * Runs an admin form's action; false when its one-time key already acted on another request (the
 * page says so instead of a 422); the service's refusal of an API field (`fields`: API field -> form
 * field, e.g. extendDays -> days) as the errors of the form's fields.
 */
async function actedOnce(act: () => Promise<unknown>, fields: Record<string, string> = {}): Promise<true | false | FieldErrors> {
  try {
    await act();
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === 'idempotency_key_reused') return false;
    const refused = error instanceof AppError && error.code === 'validation_failed' ? (error.options.fields ?? []).filter((f) => fields[f.field]) : [];
    if (refused.length > 0) return formErrors(refused.map((f) => ({ ...f, field: fields[f.field]! })));
    throw error;
  }
}

/** What is wrong with an audit reason, if anything (its length is the schema's, Reason). */
function reasonError(reason: string): string | undefined {
  return reason ? undefined : 'Say why: the reason is kept in the audit log.';
}

/** The extend form's days and reason as typed (trimmed), the days as a number, and what is wrong with them. */
function extensionOf(body: { days?: string; reason?: string }): { days: string; reason: string; extendDays: number; errors: FieldErrors } {
  const days = (body.days ?? '').trim();
  const reason = (body.reason ?? '').trim();
  const errors: FieldErrors = {};
  const extendDays = /^\d{1,3}$/.test(days) ? Number(days) : NaN;
  if (!(extendDays >= DAYS.min && extendDays <= DAYS.max)) errors.days = `Enter a whole number of days from ${DAYS.min} to ${DAYS.max}.`;
  const reasonProblem = reasonError(reason);
  if (reasonProblem) errors.reason = reasonProblem;
  return { days, reason, extendDays, errors };
}

/** Where to go after signing in: only a path of the admin pages on this site, else nowhere. */
function returnPath(value: string | undefined): string | undefined {
  if (!value || value.length > 2000) return undefined;
  return /^\/admin(?:[/?]|$)/.test(value) && !/[\\\s]|\/\//.test(value) ? value : undefined;
}

/** A CSV link whose filters fail their checks: 400, never an export of everything. */
function editedDownloadLink(errors: FieldErrors): AppError {
  return new AppError('validation_failed', `The download link was edited: ${Object.entries(errors).map(([name, error]) => `${name}: ${error}`).join(' ')}`);
}

/** The page a cursor names, or the first page when the cursor is stale or tampered with (`badCursor`: the lists say so). */
async function pageOrFirst<T>(cursor: string | undefined, load: (cursor?: string) => Promise<T>): Promise<{ page: T; badCursor: boolean }> {
  try {
    return { page: await load(cursor || undefined), badCursor: false };
  } catch (error) {
    if (cursor && error instanceof AppError && error.code === 'invalid_cursor') return { page: await load(undefined), badCursor: true };
    throw error;
  }
}
