import type { ErrorObject } from 'ajv';
import { trimmedLengthMessage } from './ajv-keywords.js';

/** What each string format expects, in words a person can act on. */
const FORMATS: Record<string, string> = {
  email: 'an email address',
  uuid: 'a UUID',
  'date-time': 'a date-time in RFC 3339 form, e.g. 2026-01-31T09:00:00Z',
  date: 'a date such as 2026-01-31',
  uri: 'an absolute URL',
  url: 'an absolute URL',
};

type Schema = Record<string, unknown>;
const quoted = (values: unknown[]) => values.map((value) => JSON.stringify(value)).join(', ');
const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

/** A schema in a few words: `"owner"`, `null`, `a UUID`, `an integer`. */
function noun(schema: Schema): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return `one of ${quoted(schema.enum)}`;
  if (typeof schema.format === 'string') return FORMATS[schema.format] ?? `a valid ${schema.format}`;
  if (schema.type === 'null') return 'null';
  if (typeof schema.type === 'string') return article(schema.type);
  return 'a valid value';
}

/** The properties an object schema names. */
const propertyNames = (schema: Schema) => Object.keys((schema.properties as Schema | undefined) ?? {});

/** `from 1 to 365`, `at least 8`, `at most 100`. */
function bounds(min: unknown, max: unknown): string {
  if (typeof min === 'number' && typeof max === 'number') return `from ${min} to ${max}`;
  return typeof min === 'number' ? `at least ${min}` : `at most ${String(max)}`;
}

function describe(error: ErrorObject): string {
  const parent = (error.parentSchema ?? {}) as Schema;
  switch (error.keyword) {
    case 'enum':
      return `must be one of: ${quoted((error.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'const':
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    case 'anyOf': {
      const branches = (error.schema as Schema[]) ?? [];
      if (branches.length > 0 && branches.every((branch) => 'const' in branch)) return `must be one of: ${quoted(branches.map((branch) => branch.const))}`;
      return `must be ${branches.map(noun).join(' or ')}`;
    }
    case 'minLength':
    case 'maxLength':
      // A trimmed string's raw cap is only a guard: its real bounds are the trimmed ones.
      if (parent['x-trim']) return trimmedLengthMessage(parent['x-trim'] as { min: number; max: number });
      return `must be ${bounds(parent.minLength, parent.maxLength)} characters long`;
    case 'minimum':
    case 'maximum':
      return `must be ${bounds(parent.minimum, parent.maximum)}`;
    case 'minProperties':
      return `must give at least one of: ${propertyNames(parent).join(', ')}`;
    case 'uniqueItems':
      return 'must not list the same value twice';
    case 'minItems':
    case 'maxItems':
      return `must hold ${bounds(parent.minItems, parent.maxItems)} items`;
    case 'format':
      return `must be ${noun(parent)}`;
    case 'pattern':
      // A pattern is for machines; a schema that means something by it says so in words.
      return typeof parent['x-pattern-message'] === 'string' ? parent['x-pattern-message'] : 'is not in the expected format';
    case 'type': {
      // A type list (a Nullable field) is an array here, or "string,null" in some Ajv versions.
      const { type } = error.params as { type: string | string[] };
      const types = Array.isArray(type) ? type : type.split(',');
      return `must be ${types.map((one) => noun({ type: one })).join(' or ')}`;
    }
    case 'additionalProperties': {
      // The error's field is the unknown property itself (see the error handler).
      const known = propertyNames(parent);
      return known.length > 0 ? `is not a known field here; the fields are: ${known.join(', ')}` : 'is not a known field here';
    }
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Validator errors as messages that say what is allowed: a union of literals is one "must be one of"
 * (not one "must be equal to constant" per value), a length or a range gives both bounds, a format
 * says what it expects. Needs Ajv's `verbose` option (for each error's schema).
 */
export function explainErrors(errors: ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((error) => error.keyword === 'anyOf');
  const insideUnion = (error: ErrorObject) =>
    unions.some((union) => union !== error && union.instancePath === error.instancePath && error.schemaPath.startsWith(`${union.schemaPath}/`));
  const seen = new Set<string>();
  return errors
    .filter((error) => !insideUnion(error))
    .map((error) => ({ ...error, message: describe(error) }))
    .filter((error) => {
      // minLength and maxLength of one field, or a trimmed string's guard and its x-trim rule, say the
      // same thing once explained.
      const key = `${error.instancePath}|${error.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
