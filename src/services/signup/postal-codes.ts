import { postcodeValidator, postcodeValidatorExistsForCountry } from 'postcode-validator';
// The library's own table (its entry point exports only the checks): the source of the format examples.
import { POSTCODE_REGEXES } from 'postcode-validator/lib/cjs/postcode-regexes.js';
import randexpModule from 'randexp';

// randexp sets module.exports to the class while its types declare a default export: take either.
const RandExp = ((randexpModule as { default?: unknown }).default ?? randexpModule) as typeof randexpModule.default;

const shapes = new Map<string, string[]>();

/**
 * Why a postal code does not fit its country's format (postcode-validator's rules, letters in either
 * case), with an example of the format; undefined when it fits, as typed or laid out as
 * normalizePostalCode does, or when the library knows no format for the country.
 */
export function postalCodeProblem(postalCode: string, country: string): string | undefined {
  if (!postcodeValidatorExistsForCountry(country) || normalizePostalCode(postalCode, country) !== undefined) return undefined;
  const examples = distinctLayouts(formatShapes(country)).slice(0, 2);
  return `is not a valid ${country} postal code${examples.length > 0 ? ` (expected format: ${examples.join(' or ')})` : ''}`;
}

/**
 * The postal code as it is kept: as typed when it fits its country's format (letters in either case:
 * the library's patterns spell them in capitals, and people type 1012 ab as often as 1012 AB); else
 * its letters and digits laid out in one of the format's shapes, in capitals, when that fits
 * (JP 1000001 or １００-０００１ is 100-0001, IN 110 001 is 110001, US 12345 6789 is 12345-6789); else undefined.
 * Countries the library has no format for keep any code as typed.
 */
export function normalizePostalCode(postalCode: string, country: string): string | undefined {
  if (!postcodeValidatorExistsForCountry(country) || postcodeValidator(postalCode.toUpperCase(), country)) return postalCode;
  // NFKC first: full-width digits and letters (１００-０００１, as Japanese input methods type them) become ASCII.
  const normalized = postalCode.normalize('NFKC');
  // Only separators may go: a character of another script (Arabic-Indic digits, say) is not dropped.
  if (/[^0-9A-Za-z\s\-./]/.test(normalized)) return undefined;
  const characters = normalized.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
  for (const shape of formatShapes(country)) {
    if (shape.replace(/[^0-9A-Za-z]/g, '').length !== characters.length) continue;
    let next = 0;
    const laidOut = shape.replace(/[0-9A-Za-z]/g, () => characters[next++]!);
    if (postcodeValidator(laidOut, country)) return laidOut;
  }
  return undefined;
}

/**
 * Codes of the country's format made from its pattern, each checked by the library itself and
 * remembered per country: the lowest choices first (digits 0, letters A; the message's example), then
 * the highest and middle ones (some patterns exclude a leading 0; the highest takes optional parts,
 * such as the US ZIP+4).
 */
function formatShapes(country: string): string[] {
  if (!shapes.has(country)) {
    const pattern = POSTCODE_REGEXES.get(country);
    const picks = [(low: number) => low, (_low: number, high: number) => high, (low: number, high: number) => Math.floor((low + high) / 2)];
    const candidates = pattern ? picks.map((pick) => generate(pattern, pick)) : [];
    shapes.set(country, [...new Set(candidates.filter((code) => code !== '' && postcodeValidator(code, country)))]);
  }
  return shapes.get(country)!;
}

/** One example per layout (digits, letters and separators in place), in capitals, in the order given. */
function distinctLayouts(examples: string[]): string[] {
  const byLayout = new Map<string, string>();
  for (const example of examples) {
    const layout = example.replace(/[0-9]/g, '0').replace(/[A-Za-z]/g, 'A');
    if (!byLayout.has(layout)) byLayout.set(layout, example.toUpperCase());
  }
  return [...byLayout.values()];
}

function generate(pattern: RegExp, pick: (low: number, high: number) => number): string {
  const generator = new RandExp(pattern);
  generator.max = 1;
  generator.randInt = pick;
  return generator.gen();
}
