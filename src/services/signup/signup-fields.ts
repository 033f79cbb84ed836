import countries from 'i18n-iso-countries';
import type { Plan } from '../../config.js';
import type { FieldError } from '../../errors.js';
import type { FlowData, FlowRow } from '../../repositories/signup/signup-flow-repository.js';
import { normalizePostalCode, postalCodeProblem } from './postal-codes.js';

/**
 * Every ISO 3166-1 alpha-2 code (249), from i18n-iso-countries. XK (Kosovo) is left out: it is a
 * user-assigned code, not part of the standard.
 */
export const COUNTRY_CODES: readonly string[] = Object.keys(countries.getAlpha2Codes())
  .filter((code) => code !== 'XK')
  .sort();

/** Countries whose postal addresses need a region, with the region codes they accept (ISO 3166-2 suffixes). */
const REGIONS: Record<string, ReadonlySet<string>> = {
  // 50 states, DC, and the territories USPS addresses carry as states.
  US: new Set(
    ('AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC ' +
      'SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI').split(' '),
  ),
  // 10 provinces and 3 territories.
  CA: new Set('AB BC MB NB NL NS NT NU ON PE QC SK YT'.split(' ')),
};

/** The countries whose addresses need a region (state or province). */
export const COUNTRIES_WITH_REGIONS: readonly string[] = Object.keys(REGIONS);

/** The steps of a staged sign-up, in order; `paymentMethod` only for plans that require one. */
export const BASE_STEPS = ['email', 'profile', 'company', 'address', 'plan'] as const;
export const PAYMENT_STEP = 'paymentMethod';
/** The stages every flow passes in order, as the funnel counts them: the steps every plan has, then completion. */
export const FUNNEL_STAGES: readonly string[] = [...BASE_STEPS, 'completed'];
/**
 * The funnel's side stage: only paid plans have the payment step, so it converts from the plan step
 * and completion converts from the plan step too (a free plan goes straight from plan to completion).
 */
export const FUNNEL_SIDE_STAGE = { step: PAYMENT_STEP, after: 'plan' } as const;
/** The order in which a lead's last step reached is ranked. */
export const STEP_RANK: readonly string[] = [...BASE_STEPS, PAYMENT_STEP, 'completed'];

/** A PATCH of the flow: each section given is validated whole and replaces the stored one. */
export interface FlowPatch {
  profile?: { firstName: string; lastName: string; password?: string };
  company?: { name: string };
  address?: { line1: string; line2?: string; city: string; region?: string; postalCode: string; country: string };
  plan?: { id: string };
}

/** The checks the schema cannot make: a known plan, a region where the country needs one, a postal code shape. */
export function sectionErrors(patch: FlowPatch, plans: readonly Plan[]): FieldError[] {
  const errors: FieldError[] = [];
  if (patch.plan && !plans.some((plan) => plan.id === patch.plan!.id)) {
    errors.push({ field: 'plan.id', message: `must be one of: ${plans.map((plan) => plan.id).join(', ')}` });
  }
  const address = patch.address;
  if (address) {
    const regions = REGIONS[address.country];
    if (regions && !address.region) errors.push({ field: 'address.region', message: `is required for ${address.country}` });
    else if (regions && !regions.has(address.region!.toUpperCase())) {
      errors.push({ field: 'address.region', message: `is not a ${address.country} region code (e.g. ${[...regions].slice(0, 3).join(', ')})` });
    }
    const postal = postalCodeProblem(address.postalCode, address.country);
    if (postal) errors.push({ field: 'address.postalCode', message: postal });
  }
  return errors;
}

/**
 * The sections as stored: the password leaves the profile (it is stored as a hash), regions in upper
 * case, a postal code typed without its separator laid out in its country's format (normalizePostalCode).
 */
export function storedSections(patch: FlowPatch): Partial<FlowData> {
  const sections: Partial<FlowData> = {};
  if (patch.profile) sections.profile = { firstName: patch.profile.firstName, lastName: patch.profile.lastName };
  if (patch.company) sections.company = { name: patch.company.name };
  if (patch.address) {
    const { region, line2, ...rest } = patch.address;
    rest.postalCode = normalizePostalCode(rest.postalCode, rest.country) ?? rest.postalCode;
    sections.address = { ...rest, ...(line2 ? { line2 } : {}), ...(region ? { region: REGIONS[rest.country] ? region.toUpperCase() : region } : {}) };
  }
  if (patch.plan) sections.plan = { id: patch.plan.id };
  return sections;
}

/** Where a flow stands: which fields it needs, which are missing or unverified, and each step's state. */
export interface FlowProgress {
  steps: { key: string; completed: boolean }[];
  currentStep: string | null;
  requiredFields: string[];
  missingFields: string[];
  unverifiedFields: string[];
  plan: Plan | undefined;
}

/**
 * The one rule of what a complete flow holds. A plan that requires a payment method needs the
 * `paymentMethod` section, which only the billing integration fills (SignupFlowRepository.setSection);
 * until then such a flow stays incomplete.
 */
export function flowProgress(flow: FlowRow, plans: readonly Plan[]): FlowProgress {
  const data = flow.data;
  const plan = plans.find((p) => p.id === data.plan?.id);
  const fields: Record<string, boolean> = {
    email: flow.email !== null,
    'profile.firstName': Boolean(data.profile?.firstName),
    'profile.lastName': Boolean(data.profile?.lastName),
    // Completion moves the hash to the account and clears it here: a completed flow had its password.
    'profile.password': flow.passwordHash !== null || flow.completedAt !== null,
    'company.name': Boolean(data.company?.name),
    'address.line1': Boolean(data.address?.line1),
    'address.city': Boolean(data.address?.city),
    'address.postalCode': Boolean(data.address?.postalCode),
    'address.country': Boolean(data.address?.country),
    ...(data.address && REGIONS[data.address.country] ? { 'address.region': Boolean(data.address.region) } : {}),
    'plan.id': plan !== undefined,
    ...(plan?.requiresPaymentMethod ? { [PAYMENT_STEP]: data.paymentMethod !== undefined } : {}),
  };
  const requiredFields = Object.keys(fields);
  const missingFields = requiredFields.filter((field) => !fields[field]);
  const unverifiedFields = flow.email !== null && flow.emailVerifiedAt === null ? ['email'] : [];
  const stepKeys: string[] = [...BASE_STEPS, ...(plan?.requiresPaymentMethod ? [PAYMENT_STEP] : [])];
  const steps = stepKeys.map((key) => ({
    key,
    completed: key === 'email' ? flow.emailVerifiedAt !== null : !missingFields.some((field) => field === key || field.startsWith(`${key}.`)),
  }));
  return { steps, currentStep: steps.find((step) => !step.completed)?.key ?? null, requiredFields, missingFields, unverifiedFields, plan };
}
