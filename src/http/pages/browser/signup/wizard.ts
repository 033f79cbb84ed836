/// <reference lib="dom" />
/**
 * The /signup wizard in the browser (bundled by esbuild, served as /signup/wizard.js). It drives the
 * server-rendered steps through the public staged sign-up API with the typed client: it lands on the
 * step the flow is at with every saved field filled, auto-saves edits with the flow's version, and
 * completes the sign-up (the billing saga runs there for a paid plan).
 */
import { createOnboardingClient } from '../../../../client/index.js';
import { FieldErrorsView, type Problem } from './field-errors.js';
import { FlowSaver, SECTIONS, type Flow, type Section } from './flow-saver.js';
import { StripeCard } from './stripe-card.js';

const root = document.getElementById('wizard')!;
const client = createOnboardingClient({ baseUrl: location.origin });
const errors = new FieldErrorsView(root);
const statusLine = document.getElementById('save-status')!;
const alertBox = document.getElementById('wizard-alert')!;
const stripeCard = root.dataset.stripeKey ? new StripeCard(root.dataset.stripeKey, root.dataset.stripeJs!, errors) : undefined;
/** The wizard's steps in order: the API's steps, with the code after the email and done at the end. */
const ORDER = ['email', 'code', 'profile', 'company', 'address', 'plan', 'payment', 'done'];

let flow: Flow | undefined;
const saver = new FlowSaver({
  client,
  errors,
  flow: () => flow,
  adopt: (saved, theirs) => {
    flow = saved;
    if (theirs) fill(saved, { keepEdits: true });
    else passwordState(saved);
  },
  status: (text) => (statusLine.textContent = text),
  lost: (problem) => lostFlow(problem),
});

const section = (step: string) => root.querySelector<HTMLElement>(`section[data-step="${step}"]`)!;
const control = (name: string) => root.querySelector<HTMLInputElement>(`[name="${name}"]`)!;

function showAlert(text: string): void {
  alertBox.textContent = text;
  alertBox.hidden = false;
  alertBox.focus();
}

function clearAlert(): void {
  alertBox.hidden = true;
  alertBox.textContent = '';
}

/** Shows one step, marks it in the step list and moves focus to its heading. */
function show(step: string, focus = true): void {
  document.getElementById('wizard-loading')!.hidden = true;
  for (const element of root.querySelectorAll<HTMLElement>('section[data-step]')) element.hidden = element.dataset.step !== step;
  const at = ORDER.indexOf(step);
  for (const item of root.querySelectorAll<HTMLElement>('[data-step-item]')) {
    const index = ORDER.indexOf(item.dataset.stepItem!);
    item.classList.toggle('done', index < at);
    if (index === at) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
    if (item.dataset.stepItem === 'payment') item.hidden = !paidPlanChosen();
  }
  if (step === 'payment') void stripeCard?.mount();
  if (focus) section(step).querySelector<HTMLElement>('h2')!.focus();
}

/** The step a flow is at: the first one not done (or its last one, ready to complete). */
function stepFor(current: Flow): string {
  if (!current.email) return 'email';
  if (!current.emailVerified) return 'code';
  if (current.currentStep === 'paymentMethod') return 'payment';
  if (current.currentStep) return current.currentStep;
  return current.steps.some((step) => step.key === 'paymentMethod') ? 'payment' : 'plan';
}

const paidPlanChosen = () => root.querySelector<HTMLInputElement>('[name="plan.id"]:checked')?.dataset.paid === 'true';

/** Puts the flow's saved data into the forms; with `keepEdits`, fields edited here and not saved yet stay. */
function fill(current: Flow, { keepEdits = false } = {}): void {
  for (const element of root.querySelectorAll('[data-bind="email"]')) element.textContent = current.email ?? '';
  if (current.email) control('email').value = current.email;
  (control('marketingConsent') as HTMLInputElement).checked = current.marketingConsent.granted;
  for (const name of SECTIONS) {
    if (keepEdits && saver.isEdited(name)) continue;
    const values = (current.data[name] ?? {}) as Record<string, string>;
    for (const element of root.querySelectorAll<HTMLInputElement | HTMLSelectElement>(`form[data-section="${name}"] [name]`)) {
      const key = element.name.slice(name.length + 1);
      if (element instanceof HTMLInputElement && element.type === 'radio') element.checked = element.value === values[key];
      else if (!(element instanceof HTMLInputElement && element.type === 'password')) element.value = values[key] ?? '';
    }
  }
  const card = current.data.paymentMethod;
  if (card) for (const radio of root.querySelectorAll<HTMLInputElement>('[name="paymentMethodId"]')) radio.checked = radio.value === card.id;
  regionRule();
  passwordState(current);
}

/** A saved password is never sent back: the field says it is saved, and may be left empty. */
function passwordState(current: Flow): void {
  const saved = !current.missingFields.includes('profile.password');
  const password = control('profile.password');
  password.required = !saved;
  document.getElementById('field-profile.password-hint')!.textContent = saved ? 'Your password is saved. Type a new one (at least 8 characters) to change it.' : 'At least 8 characters.';
}

/** The region is required for the countries whose addresses need one (US, CA). */
function regionRule(): void {
  const needs = (root.dataset.regionCountries ?? '').split(' ').includes(control('address.country').value);
  control('address.region').required = needs;
}

/** Runs a form's action with its submit button disabled and saying what is under way. */
async function busy(form: HTMLFormElement, action: () => Promise<void>): Promise<void> {
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')!;
  const label = button.textContent;
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  if (button.dataset.busy) button.textContent = button.dataset.busy;
  try {
    await action();
  } finally {
    button.disabled = false;
    button.textContent = label;
    form.removeAttribute('aria-busy');
  }
}

/** A flow that is gone: expired, its own state; discarded or completed elsewhere, start again from the email. */
function lostFlow(problem: Problem): void {
  flow = undefined;
  if (problem.code === 'signup_flow_expired') return show('expired');
  show('email');
  showAlert(`${problem.detail}`);
}

/** "Start a new sign-up" after an expired one: a new flow (and cookie), then its first step. */
async function restart(button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  const started = await client.POST('/v1/signup-flows', { body: {} }).finally(() => (button.disabled = false));
  if (!started.data) return showAlert((started.error as Problem).detail);
  flow = started.data;
  show('email');
}

async function submitEmail(): Promise<void> {
  const email = control('email').value.trim();
  if (!errors.requireFilled(['email'])) return;
  if (!flow) {
    const started = await client.POST('/v1/signup-flows', { body: {} });
    if (!started.data) return showAlert((started.error as Problem).detail);
    flow = started.data;
  }
  const sent = await client.PUT('/v1/signup-flows/current/email', { body: { email, marketingConsent: (control('marketingConsent') as HTMLInputElement).checked } });
  if (!sent.data) {
    const problem = sent.error as Problem;
    if (problem.status === 401 || problem.status === 410) {
      flow = undefined;
      return submitEmail();
    }
    return errors.showProblem(problem, 'email') ? errors.focusFirst() : showAlert(problem.detail);
  }
  flow = sent.data;
  fill(flow);
  show('code');
}

async function resendCode(): Promise<void> {
  clearAlert();
  const sent = await client.PUT('/v1/signup-flows/current/email', { body: { email: flow!.email!, marketingConsent: flow!.marketingConsent.granted } });
  if (!sent.data) return showAlert((sent.error as Problem).detail);
  flow = sent.data;
  errors.set('code', undefined);
  statusLine.textContent = `We sent a new code to ${flow.email}. Earlier codes no longer work.`;
}

async function verifyCode(): Promise<void> {
  if (!errors.requireFilled(['code'])) return;
  const verified = await client.POST('/v1/signup-flows/current/email/verify', { body: { code: control('code').value.trim() } });
  if (!verified.data) return codeProblem(verified.error as Problem, 'code');
  flow = verified.data;
  fill(flow);
  show(stepFor(flow));
}

/** A code that did not work: why, on the code field (how many tries are left), or for the whole page. */
function codeProblem(problem: Problem, field: string): void {
  if (problem.code === 'email_taken') return showAlert(problem.detail);
  const left = typeof problem.attemptsLeft === 'number' ? ` ${problem.attemptsLeft} ${problem.attemptsLeft === 1 ? 'try' : 'tries'} left.` : '';
  errors.set(field, `${problem.detail}${left}`);
  errors.focusFirst();
}

async function requestResume(form: HTMLFormElement): Promise<void> {
  if (!errors.requireFilled(['resumeEmail'])) return;
  const asked = await client.POST('/v1/signup-flows/resume', { body: { email: control('resumeEmail').value.trim() } });
  if (asked.error) return errors.showProblem(asked.error as Problem, 'resumeEmail', 'email') ? errors.focusFirst() : showAlert((asked.error as Problem).detail);
  const codeForm = form.nextElementSibling as HTMLFormElement;
  codeForm.hidden = false;
  control('resumeCode').focus();
}

async function verifyResume(): Promise<void> {
  if (!errors.requireFilled(['resumeCode'])) return;
  const resumed = await client.POST('/v1/signup-flows/resume/verify', { body: { email: control('resumeEmail').value.trim(), code: control('resumeCode').value.trim() } });
  if (!resumed.data) return codeProblem(resumed.error as Problem, 'resumeCode');
  flow = resumed.data;
  fill(flow);
  show(stepFor(flow));
}

/** Continue: the section is checked here, saved now, and the next step shown once the server has it. */
async function continueFrom(name: Section): Promise<void> {
  if (!errors.requireFilled(saver.requiredFields(name))) return;
  await saver.flush();
  if (errors.any(name)) return errors.focusFirst();
  if (!flow || saver.isEdited(name)) return;
  if (name !== 'plan') return show(ORDER[ORDER.indexOf(name) + 1]!);
  if (paidPlanChosen()) return show('payment');
  await complete();
}

async function pay(): Promise<void> {
  const paymentMethodId = stripeCard ? await stripeCard.paymentMethodId() : root.querySelector<HTMLInputElement>('[name="paymentMethodId"]:checked')?.value;
  if (!paymentMethodId) {
    if (!stripeCard) errors.set('paymentMethodId', 'Choose a card.');
    return errors.focusFirst();
  }
  const recorded = await client.PUT('/v1/signup-flows/current/payment-method', { body: { paymentMethodId } });
  if (!recorded.data) return paymentProblem(recorded.error as Problem);
  flow = recorded.data;
  await complete();
}

/**
 * A card the gateway refused: its reason once, on the card choice, announced as it appears (not also in
 * the page's alert, which read it twice); focus goes to the card choice first so the announcement is not cut off.
 */
function paymentProblem(problem: Problem): void {
  const field = stripeCard ? 'card-element' : 'paymentMethodId';
  errors.focus(field);
  errors.set(field, problem.detail, { announce: true });
}

async function complete(): Promise<void> {
  clearAlert();
  const done = await client.POST('/v1/signup-flows/current/complete', { body: {} });
  if (done.data) {
    for (const element of root.querySelectorAll('[data-bind="name"]')) element.textContent = done.data.account.name;
    for (const element of root.querySelectorAll('[data-bind="workspace"]')) element.textContent = done.data.workspace.name;
    root.querySelector<HTMLAnchorElement>('[data-bind-href="onboarding"]')!.href = `/onboarding/${done.data.workspace.id}`;
    flow = undefined;
    statusLine.textContent = '';
    return show('done');
  }
  const problem = done.error as Problem;
  if (problem.code === 'card_declined' || problem.code === 'invalid_payment_method') return paymentProblem(problem);
  if (problem.code === 'payment_action_required' && stripeCard && problem.clientSecret) {
    if (await stripeCard.authenticate(problem.clientSecret)) return complete();
    return;
  }
  if (problem.code === 'signup_incomplete') await reload();
  showAlert(problem.detail);
}

/** Reads the flow behind this browser's cookie and shows its step; with none, the email step; expired, its state. */
async function reload(): Promise<void> {
  const current = await client.GET('/v1/signup-flows/current');
  if (current.data) {
    flow = current.data;
    fill(flow);
    return show(stepFor(flow), false);
  }
  show((current.error as Problem).code === 'signup_flow_expired' ? 'expired' : 'email', false);
}

/** The first view: the server's hint says whether this browser has a flow, so a fresh visit asks for none. */
function start(): void {
  const known = root.dataset.flow;
  if (known === 'open') return void reload();
  show(known === 'expired' ? 'expired' : 'email', false);
}

function wire(): void {
  const on = (selector: string, run: (form: HTMLFormElement) => Promise<void>) => {
    const form = root.querySelector<HTMLFormElement>(selector)!;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearAlert();
      void busy(form, () => run(form));
    });
  };
  on('section[data-step="email"] form', submitEmail);
  on('section[data-step="code"] form', verifyCode);
  on('form[data-form="resume-email"]', requestResume);
  on('form[data-form="resume-code"]', verifyResume);
  on('form[data-form="payment"]', pay);
  for (const name of SECTIONS) {
    on(`form[data-section="${name}"]`, () => continueFrom(name));
    const form = root.querySelector<HTMLFormElement>(`form[data-section="${name}"]`)!;
    const edited = () => {
      if (name === 'address') regionRule();
      if (name === 'plan') show('plan', false);
      saver.edit(name);
    };
    form.addEventListener('input', edited);
    form.addEventListener('change', edited);
  }
  root.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[type="button"]');
    if (!button) return;
    clearAlert();
    if (button.dataset.goto) show(button.dataset.goto);
    if (button.dataset.action === 'back') show(ORDER[ORDER.indexOf(button.closest<HTMLElement>('section')!.dataset.step!) - 1]!);
    if (button.dataset.action === 'resend') void resendCode();
    if (button.dataset.action === 'restart') void restart(button);
  });
  // Leaving the page (or switching tabs) saves what was typed last.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void saver.flush();
  });
}

wire();
start();
