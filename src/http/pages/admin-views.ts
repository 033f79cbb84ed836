import { Type, type Static } from 'typebox';
import type { BillingRow } from '../../repositories/billing/billing-repository.js';
import type { SagaRow } from '../../repositories/billing/saga-repository.js';
import type { LeadFilter, LeadRow } from '../../repositories/signup/signup-lead-repository.js';
import type { Page } from '../../services/admin-service.js';
import { html, type FieldErrors, type Html } from './html.js';

/** A time as the admin pages show it: minutes, in UTC. */
export const when = (date: Date | null) => (date ? date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
/** An enum value in words (`past_due` -> `past due`). */
export const words = (value: string) => value.replace(/_/g, ' ');

/** A workspace's billing on its admin page: the subscription, the card's brand and last 4 digits, and the sagas that changed them. */
export function billingSection(billing: BillingRow, sagas: SagaRow[]): Html {
  const sub = billing.subscription;
  const card = billing.card;
  return html`<h2 id="billing">Billing</h2>
${billing.gateway === null && sagas.length === 0 ? html`<p>Never subscribed: no customer at the payment gateway.</p>` : html`<dl>
<dt>Gateway</dt><dd>${billing.gateway ?? '—'}${billing.customerId ? html`, customer <code>${billing.customerId}</code>` : ''}</dd>
<dt>Subscription</dt><dd id="billing-subscription">${sub ? `${sub.plan}, ${words(sub.status)}${sub.cancelAtPeriodEnd ? ', cancels at period end' : ''}` : 'none'}</dd>
${sub ? html`<dt>Trial ends</dt><dd>${when(sub.trialEnd)}</dd><dt>Period ends</dt><dd>${when(sub.currentPeriodEnd)}</dd>${sub.canceledAt ? html`<dt>Canceled</dt><dd>${when(sub.canceledAt)}</dd>` : ''}` : ''}
<dt>Payment method</dt><dd id="billing-card">${card ? `${card.brand} ending ${card.last4}, expires ${String(card.expMonth).padStart(2, '0')}/${card.expYear}` : 'none'}</dd>
</dl>`}
${sagas.length === 0 ? '' : html`<div class="table-wrap"><table id="billing-sagas"><caption>Billing sagas, newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Updated</th></tr></thead>
<tbody>${sagas.map((s) => html`<tr><td>${when(s.createdAt)}</td><td>${words(s.kind)}</td><td>${words(s.state)}${s.compensating ? ' (compensating)' : ''}</td><td>${s.attempts}</td><td>${s.lastError ?? '—'}</td><td>${when(s.updatedAt)}</td></tr>`)}</tbody>
</table></div>`}`;
}

/** The longest page cursor a list takes (the lists' schemas and their page field). */
export const MAX_CURSOR = 500;

/** The leads list's query: dates as the date inputs send them (YYYY-MM-DD), and a verified choice. */
export const LeadFilters = Type.Object({
  from: Type.Optional(Type.String({ maxLength: 50 })),
  to: Type.Optional(Type.String({ maxLength: 50 })),
  verified: Type.Optional(Type.String({ maxLength: 10 })),
  cursor: Type.Optional(Type.String({ maxLength: MAX_CURSOR })),
});
type LeadQuery = Static<typeof LeadFilters>;

/** A YYYY-MM-DD day as its first instant in UTC; undefined when empty; null when not a real day. */
function day(value: string | undefined): Date | undefined | null {
  const text = value?.trim();
  if (!text) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const date = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text ? null : date;
}

/** The lead filter a query asks for (`to` counts its whole day), its query string for links, and what was wrong with it. */
export function leadFilterOf(query: LeadQuery): { filter: LeadFilter; params: URLSearchParams; errors?: FieldErrors } {
  const from = day(query.from);
  const to = day(query.to);
  const verified = query.verified === 'true' ? true : query.verified === 'false' ? false : undefined;
  const errors: FieldErrors = {};
  if (from === null) errors.from = 'Enter a date as YYYY-MM-DD.';
  if (to === null) errors.to = 'Enter a date as YYYY-MM-DD.';
  if (from && to && to < from) errors.to = 'Pick a day on or after the first day.';
  if (query.verified && verified === undefined) errors.verified = 'Choose one of the options: any, verified, not verified.';
  const params = new URLSearchParams();
  if (from) params.set('from', query.from!.trim());
  if (to) params.set('to', query.to!.trim());
  if (verified !== undefined) params.set('verified', String(verified));
  const filter: LeadFilter = { from: from ?? undefined, to: to ? new Date(to.getTime() + 86_400_000) : undefined, verified };
  return Object.keys(errors).length ? { filter, params, errors } : { filter, params };
}

/** A list's text filter with its label and, when it failed, its error (aria-invalid, aria-describedby). */
export function filterInput(name: string, label: string, type: string, maxlength: number, value: string | undefined, errors: FieldErrors | undefined): Html {
  const id = `filter-${name}`;
  const error = errors?.[name];
  return html`<div class="field"><label for="${id}">${label}</label>${error ? html`<p class="error" id="${id}-error">${error}</p>` : ''}
<input id="${id}" name="${name}" type="${type}" maxlength="${maxlength}" value="${value ?? ''}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}></div>`;
}

/** The alert above a list whose filters or page link failed: what the list below shows instead. */
export function filterAlert(errors: FieldErrors | undefined): Html | string {
  if (!errors) return '';
  const onlyCursor = Object.keys(errors).every((name) => name === 'cursor');
  const text = onlyCursor ? CURSOR_BROKEN : 'Some filters need attention; the list below is not filtered by them.';
  return html`<p class="alert" role="alert" id="form-alert" data-autofocus>${text}</p>`;
}

export const CURSOR_BROKEN = 'This page link is broken or was edited: the list below starts at its first page.';

/** A list's page field, shown only with its error: the cursor of a Next page link that failed. */
export function cursorField(errors: FieldErrors | undefined): Html | string {
  return errors?.cursor ? filterInput('cursor', 'Page (from a Next page link)', 'text', MAX_CURSOR, '', errors) : '';
}

function dateField(name: 'from' | 'to', label: string, value: string | undefined, errors: FieldErrors | undefined): Html {
  const id = `filter-${name}`;
  const error = errors?.[name];
  return html`<div class="field"><label for="${id}">${label}</label>${error ? html`<p class="error" id="${id}-error">${error}</p>` : ''}
<input id="${id}" name="${name}" type="date" value="${value ?? ''}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}></div>`;
}

/** `/admin/leads`: abandoned sign-ups with marketing consent, filtered, 25 a page, with a CSV of every match. */
export function leadsPage(header: Html, query: LeadQuery, params: URLSearchParams, page: Page<LeadRow>, errors?: FieldErrors): Html {
  const next = page.nextCursor ? `/admin/leads?${new URLSearchParams([...params, ['cursor', page.nextCursor]])}` : undefined;
  const verified = params.get('verified') ?? '';
  return html`<h1>Leads</h1>${header}
<p>People who started signing up, agreed to be contacted, and did not finish.</p>
${filterAlert(errors)}
<form method="get" action="/admin/leads" class="filters" role="search" aria-label="Filter leads">
${dateField('from', 'Abandoned from', query.from, errors)}
${dateField('to', 'Abandoned until', query.to, errors)}
${cursorField(errors)}
<div class="field"><label for="filter-verified">Email address</label>${errors?.verified ? html`<p class="error" id="filter-verified-error">${errors.verified}</p>` : ''}<select id="filter-verified" name="verified"${errors?.verified ? html` aria-invalid="true" aria-describedby="filter-verified-error"` : ''}>
<option value="">Any</option><option value="true"${verified === 'true' ? html` selected` : ''}>verified</option><option value="false"${verified === 'false' ? html` selected` : ''}>not verified</option></select></div>
<button type="submit">Filter</button>
</form>
<p><a href="/admin/leads.csv${params.size > 0 ? `?${params}` : ''}" download>Download CSV</a> of every matching lead</p>
${page.items.length === 0 ? html`<p>No lead matches.</p>` : html`<div class="table-wrap"><table id="leads"><caption>Leads, most recently abandoned first</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Verified</th><th scope="col">Name</th><th scope="col">Company</th><th scope="col">Last step</th><th scope="col">Abandoned</th></tr></thead>
<tbody>${page.items.map((l) => html`<tr><th scope="row">${l.email}</th><td>${l.emailVerified ? 'yes' : 'no'}</td><td>${[l.firstName, l.lastName].filter(Boolean).join(' ') || '—'}</td><td>${l.companyName ?? '—'}</td><td>${l.lastStep ?? '—'}</td><td>${when(l.abandonedAt)}</td></tr>`)}</tbody>
</table></div>`}
${next ? html`<p><a href="${next}">Next page</a></p>` : ''}`;
}
