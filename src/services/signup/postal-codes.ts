import { postcodeValidator, postcodeValidatorExistsForCountry } from 'postcode-validator';
// The library's own table (its entry point exports only the checks): the source of the format examples.
import { POSTCODE_REGEXES } from 'postcode-validator/lib/cjs/postcode-regexes.js';
import randexpModule from 'randexp';

// randexp sets module.exports to the class while its types declare a default export: take either.
const RandExp = ((randexpModule as { default?: unknown }).default ?? randexpModule) as typeof randexpModule.default;

const examples = new Map<string, string | undefined>();

/**
 * Why a postal code does not fit its country's format (postcode-validator's rules, letters in either case), with an example
 * of the format; undefined when it fits or the library knows no format for the country.
 */
export function postalCodeProblem(postalCode: string, country: string): string | undefined {
  // The library's patterns spell letters in capitals (only some take either case): people type 1012 ab as often as 1012 AB.
  if (!postcodeValidatorExistsForCountry(country) || postcodeValidator(postalCode.toUpperCase(), country)) return undefined;
  const example = formatExample(country);
  return `is not a valid ${country} postal code${example ? ` (expected format: ${example})` : ''}`;
}

/**
 * A code of the country's format made from its pattern: the lowest choices (digits 0, letters A), or
 * failing that the highest or middle ones (some patterns exclude a leading 0); each checked by the
 * library itself, and remembered per country.
 */
function formatExample(country: string): string | undefined {
  if (!examples.has(country)) {
    const pattern = POSTCODE_REGEXES.get(country);
    const picks = [(low: number) => low, (_low: number, high: number) => high, (low: number, high: number) => Math.floor((low + high) / 2)];
    const candidates = pattern ? picks.map((pick) => generate(pattern, pick)) : [];
    examples.set(country, candidates.find((code) => code !== '' && postcodeValidator(code, country)));
  }
  return examples.get(country);
}

function generate(pattern: RegExp, pick: (low: number, high: number) => number): string {
  const generator = new RandExp(pattern);
  generator.max = 1;
  generator.randInt = pick;
  return generator.gen();
}
