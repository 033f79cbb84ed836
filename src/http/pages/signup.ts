import { createRequire } from 'node:module';
import countries from 'i18n-iso-countries';
import type { Plan } from '../../config.js';
import { LOCAL_TEST_CARDS } from '../../services/billing/adapters/local-gateway.js';
import { COUNTRIES_WITH_REGIONS, COUNTRY_CODES } from '../../services/signup/signup-fields.js';
import { signupFlowHint } from '../signup-cookie.js';
import type { App } from '../types.js';
import { Email, Password } from '../schemas/common.js';
import { CODE_LENGTH, SignupFields } from '../schemas/signup.js';
import { field, html, layout, type Html } from './html.js';
import type { PageDeps } from './index.js';
import { lengthOf } from './page-forms.js';

countries.registerLocale(createRequire(import.meta.url)('i18n-iso-countries/langs/en.json'));

/** The wizard's script: ./browser/signup/wizard.ts bundled by `npm run pages:build` (scripts/build-pages.ts). */
const WIZARD_SCRIPT = '/assets/signup.js';
const STRIPE_JS = 'https://js.stripe.com/v3/';

/** The countries by their English name, as a person scans or types into the list. */
const COUNTRY_OPTIONS = COUNTRY_CODES.map((code) => ({ code, name: countries.getName(code, 'en') ?? code })).sort((a, b) => a.name.localeCompare(b.name, 'en'));

/** What each local test card does, in the words the person picking it reads. */
const TEST_CARD_OUTCOMES: Record<string, string> = {
  ok: 'succeeds',
  declined: 'is declined',
  insufficient_funds: 'is declined for insufficient funds',
};

/**
 * `/signup`: the staged sign-up wizard. The page is server-rendered (every step's labelled form, the
 * plans, the countries, the card choice) and the wizard script drives it through the public API
 * (/v1/signup-flows/*) with the typed client: it shows the step the flow is at, fills every saved
 * field, auto-saves edits with the flow's version, and completes the sign-up. With
 * STRIPE_PUBLISHABLE_KEY the payment step mounts Stripe Elements (and the CSP allows js.stripe.com
 * on this page only); without it, the local gateway's test cards are offered, clearly marked.
 */
export async function signupPages(app: App, { config }: PageDeps): Promise<void> {
  const stripeKey = config.billing.stripePublishableKey;

  app.get('/signup', { schema: { hide: true }, config: { rateLimit: false } }, async (request, reply) => {
    if (stripeKey) reply.header('content-security-policy', stripeCsp(String(reply.getHeader('content-security-policy') ?? '')));
    const body = wizardPage(config.plans, stripeKey, signupFlowHint(request));
    return reply.type('text/html; charset=utf-8').send(layout({ title: 'Create your account', body, scripts: [WIZARD_SCRIPT] }));
  });
}

/** The pages' CSP with Stripe.js and its frames and API added: only on /signup, only with a publishable key. */
function stripeCsp(csp: string): string {
  const extra: Record<string, string> = { 'script-src': STRIPE_JS.replace(/\/v3\/$/, ''), 'connect-src': 'https://api.stripe.com', 'frame-src': 'https://js.stripe.com https://hooks.stripe.com' };
  const directives = csp.split(';').map((d) => d.trim()).filter(Boolean);
  for (const [name, sources] of Object.entries(extra)) {
    const index = directives.findIndex((d) => d.split(' ')[0] === name);
    if (index === -1) directives.push(`${name} ${sources}`);
    else directives[index] = `${directives[index]} ${sources}`;
  }
  return directives.join(';');
}

/** `flow` tells the script whether to read a flow (`open`) or not: a fresh visit makes no failing request. */
function wizardPage(plans: readonly Plan[], stripeKey: string | undefined, flow: 'none' | 'open' | 'expired'): Html {
  return html`<div id="wizard" data-flow="${flow}" data-region-countries="${COUNTRIES_WITH_REGIONS.join(' ')}"${stripeKey ? html` data-stripe-key="${stripeKey}" data-stripe-js="${STRIPE_JS}"` : ''}>
<h1>Create your account</h1>
<ol class="wizard-steps" aria-label="Sign-up steps">
${['Email', 'Code', 'You', 'Company', 'Address', 'Plan', 'Payment', 'Done'].map((label, i) => html`<li data-step-item="${STEP_KEYS[i]!}">${label}</li>`)}
</ol>
<p id="save-status" class="save-status" role="status" aria-live="polite"></p>
<div id="wizard-alert" class="alert" role="alert" tabindex="-1" hidden></div>
<noscript><p class="alert">This sign-up needs JavaScript. Turn it on and reload the page.</p></noscript>
<p id="wizard-loading" class="muted">Loading your sign-up…</p>
${step('email', 'Your work email', html`<form novalidate>
${field({ name: 'email', label: 'Work email', type: 'email', autocomplete: 'email', ...lengthOf(Email) })}
<div class="field checkbox"><input id="field-marketingConsent" name="marketingConsent" type="checkbox"><label for="field-marketingConsent">Email me product news and offers (you can unsubscribe at any time)</label></div>
<button type="submit" data-busy="Sending…">Email me a code</button>
</form>
<p><button type="button" class="link" data-goto="resume">Started on another device? Continue here</button></p>`)}
${step('resume', 'Continue your sign-up', html`<p>Enter the address you started with: we email a code to it if its sign-up is still open.</p>
<form novalidate data-form="resume-email">
${field({ name: 'resumeEmail', label: 'Email', type: 'email', autocomplete: 'email', ...lengthOf(Email) })}
<button type="submit" data-busy="Sending…">Email me a code</button>
</form>
<form novalidate data-form="resume-code" hidden>
${field({ name: 'resumeCode', label: '6-digit code', autocomplete: 'one-time-code', inputmode: 'numeric', minlength: CODE_LENGTH, maxlength: CODE_LENGTH, hint: 'Check your inbox for the code we just sent.' })}
<button type="submit" data-busy="Checking…">Continue</button>
</form>
<p><button type="button" class="link" data-goto="email">Start a new sign-up instead</button></p>`)}
${step('expired', 'This sign-up has expired', html`<p>A sign-up stays open for a limited time after its last change, and this one has run out. Start a new one: it takes a couple of minutes.</p>
<p class="actions"><button type="button" data-action="restart">Start a new sign-up</button></p>`)}
${step('code', 'Check your inbox', html`<p>We sent a 6-digit code to <strong data-bind="email"></strong>. It works for a few minutes.</p>
<form novalidate>
${field({ name: 'code', label: '6-digit code', autocomplete: 'one-time-code', inputmode: 'numeric', minlength: CODE_LENGTH, maxlength: CODE_LENGTH })}
<button type="submit" data-busy="Checking…">Verify</button>
</form>
<p class="actions"><button type="button" class="secondary" data-action="resend">Send a new code</button> <button type="button" class="link" data-goto="email">Use another address</button></p>`)}
${step('profile', 'About you', html`<form novalidate data-section="profile">
${field({ name: 'profile.firstName', label: 'First name', autocomplete: 'given-name', ...lengthOf(SignupFields.firstName) })}
${field({ name: 'profile.lastName', label: 'Last name', autocomplete: 'family-name', ...lengthOf(SignupFields.lastName) })}
${field({ name: 'profile.password', label: 'Password', type: 'password', autocomplete: 'new-password', ...lengthOf(Password), hint: `At least ${lengthOf(Password).minlength!} characters.` })}
${nav('Continue', false)}
</form>`)}
${step('company', 'Your company', html`<form novalidate data-section="company">
${field({ name: 'company.name', label: 'Company name', autocomplete: 'organization', ...lengthOf(SignupFields.companyName) })}
${nav()}
</form>`)}
${step('address', 'Company address', html`<form novalidate data-section="address">
${field({ name: 'address.line1', label: 'Address line 1', autocomplete: 'address-line1', ...lengthOf(SignupFields.line1) })}
${field({ name: 'address.line2', label: 'Address line 2 (optional)', autocomplete: 'address-line2', optional: true, ...lengthOf(SignupFields.line2) })}
${field({ name: 'address.city', label: 'City', autocomplete: 'address-level2', ...lengthOf(SignupFields.city) })}
<div class="field"><label for="field-address.country">Country</label>
<select id="field-address.country" name="address.country" autocomplete="country" required><option value="">Choose a country</option>
${COUNTRY_OPTIONS.map(({ code, name }) => html`<option value="${code}">${name}</option>`)}
</select></div>
${field({ name: 'address.region', label: 'State, province or region', autocomplete: 'address-level1', optional: true, ...lengthOf(SignupFields.region), hint: 'Required in the US and Canada: the 2-letter code, such as NY or QC.' })}
${field({ name: 'address.postalCode', label: 'Postal code', autocomplete: 'postal-code', ...lengthOf(SignupFields.postalCode) })}
${nav()}
</form>`)}
${step('plan', 'Choose a plan', html`<form novalidate data-section="plan">
<fieldset id="field-plan.id"><legend>Plan</legend>
${plans.map((plan) => html`<div class="choice"><input type="radio" id="plan-${plan.id}" name="plan.id" value="${plan.id}" data-paid="${plan.requiresPaymentMethod}" required><label for="plan-${plan.id}">${plan.name} <span class="muted">${planTerms(plan)}</span></label></div>`)}
</fieldset>
${nav('Continue')}
</form>`)}
${step('payment', 'Payment method', html`<form novalidate data-form="payment">
${stripeKey ? stripeCard() : testCards()}
<p class="muted">Your trial starts now; you are charged only when it ends, and you can cancel before.</p>
${nav('Start my subscription')}
</form>`)}
${step('done', 'Your account is ready', html`<p class="success" role="status">Welcome, <span data-bind="name"></span>. Your workspace <strong data-bind="workspace"></strong> is ready and its trial has started.</p>
<p><a data-bind-href="onboarding" href="/">Set up your workspace</a></p>`)}
</div>`;
}

/** The wizard's step keys, in order (the API's steps, plus code and done). */
const STEP_KEYS = ['email', 'code', 'profile', 'company', 'address', 'plan', 'payment', 'done'];

function step(key: string, title: string, body: Html): Html {
  return html`<section data-step="${key}" aria-labelledby="step-${key}-title" hidden>
<h2 id="step-${key}-title" tabindex="-1">${title}</h2>
${body}
</section>`;
}

function nav(submit = 'Continue', back = true): Html {
  return html`<p class="actions"><button type="submit" data-busy="Saving…">${submit}</button>${back ? html` <button type="button" class="secondary" data-action="back">Back</button>` : ''}</p>`;
}

function planTerms(plan: Plan): string {
  const trial = plan.trialDays > 0 ? `${plan.trialDays}-day free trial` : 'free';
  return plan.requiresPaymentMethod ? `(${trial}, card required)` : `(${trial}, no card needed)`;
}

/** The local gateway's test cards (3-D Secure's needs Stripe.js, so it is not offered here). */
function testCards(): Html {
  const cards = Object.entries(LOCAL_TEST_CARDS).filter(([, card]) => card.outcome in TEST_CARD_OUTCOMES);
  return html`<fieldset id="field-paymentMethodId" aria-describedby="test-mode-note"><legend>Card <span class="badge">Test mode</span></legend>
<p class="hint" id="test-mode-note">Test mode: no real card is charged. Pick a test card to see what each answer looks like.</p>
${cards.map(([id, card]) => html`<div class="choice"><input type="radio" id="card-${id}" name="paymentMethodId" value="${id}" required><label for="card-${id}">${capitalise(card.brand)} ending ${card.last4} <span class="muted">(${TEST_CARD_OUTCOMES[card.outcome]!})</span></label></div>`)}
</fieldset>`;
}

/** Stripe Elements' card field; the card never reaches this service, only its payment-method id. */
function stripeCard(): Html {
  return html`<div class="field"><p class="label" id="card-element-label">Card</p><div id="field-card-element" class="card-element" aria-labelledby="card-element-label"></div></div>`;
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
