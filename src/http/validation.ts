import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import type { FastifySchemaCompiler } from 'fastify';
import { parseTimestamp } from '../services/opaque-input.js';
import { trimKeyword } from './ajv-keywords.js';
import { explainErrors } from './validation-messages.js';

const BARE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: true, useDefaults: true, strict: false, verbose: true, ...options });
  addFormats.default(ajv);
  // RFC 3339 allows a leap second (23:59:60) and year 0000, which JavaScript dates and PostgreSQL do
  // not agree on: parseTimestamp, the one decoder of client-supplied date-times, refuses them.
  ajv.addFormat('date-time', { type: 'string', validate: (text: string) => isRfc3339DateTime(text) && parseTimestamp(text) !== undefined });
  // ajv-formats' uuid also takes RFC 4122's URN form (urn:uuid:...), which PostgreSQL's uuid type
  // refuses: an id is the bare 8-4-4-4-12 hex form, in either letter case.
  ajv.addFormat('uuid', BARE_UUID);
  return trimKeyword(ajv);
}

const rfc3339DateTime = fullFormats['date-time'] as { validate: (text: string) => boolean };
const isRfc3339DateTime = (text: string) => rfc3339DateTime.validate(text);

/**
 * Validation with three Ajv instances. API bodies (under /v1/) are taken as typed (42 is not a name)
 * and a property their schema does not know is an error naming it, as Stripe answers an unknown
 * parameter: a misspelt optional field must not be dropped while the call reports success. Page
 * form bodies are taken as typed too, but a field no schema knows (a button's name) is dropped.
 * Query strings, params and headers, which are always text, are coerced to the schema's types, and
 * unknown ones (tracking parameters on a link) are dropped. Every part is first checked for strings
 * PostgreSQL cannot store.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const apiBody = makeAjv({ coerceTypes: false, removeAdditional: false });
  const formBody = makeAjv({ coerceTypes: false });
  const coercing = makeAjv({ coerceTypes: 'array' });
  return ({ schema, httpPart, url }) => {
    const ajv = httpPart !== 'body' ? coercing : url.startsWith('/v1/') ? apiBody : formBody;
    return storableFirst(ajv.compile(schema as object)) as never;
  };
}

/**
 * A NUL character (`\u0000` in JSON, `%00` in a URL) or half of a surrogate pair is valid input to
 * JSON and URLs but not to PostgreSQL text or jsonb, and JSON nested thousands of levels deep parses
 * but breaks whatever walks it next; such input is refused as a field error.
 */
function storableFirst(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    const problem = unstorableAt(data, '', 0);
    if (problem) {
      check.errors = [{ instancePath: problem.path, schemaPath: '', keyword: 'storable', params: {}, message: problem.message } satisfies ErrorObject];
      return false;
    }
    const valid = validate(data);
    check.errors = validate.errors ? explainErrors(validate.errors) : validate.errors;
    return valid;
  }) as ValidateFunction;
  return check;
}

/** How deep any input may nest; far beyond what a form or a wizard draft needs. */
export const MAX_INPUT_DEPTH = 32;

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (text: string) => UNSTORABLE.test(text);
const UNSTORABLE_TEXT = 'must not contain NUL characters or unpaired surrogates';

/** The JSON pointer of the first string (value or key) or number PostgreSQL cannot store, or of too deep a nesting. */
function unstorableAt(value: unknown, path: string, depth: number): { path: string; message: string } | undefined {
  if (typeof value === 'string') return unstorable(value) ? { path, message: UNSTORABLE_TEXT } : undefined;
  // JSON has no Infinity, but a number past double range (1e400) parses to it, and would be stored as null.
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, message: 'must be a finite number (this one is beyond the range of a double)' };
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth === MAX_INPUT_DEPTH) return { path, message: `must not nest more than ${MAX_INPUT_DEPTH} levels deep` };
  for (const [key, item] of Object.entries(value)) {
    const itemPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (unstorable(key)) return { path: itemPath, message: UNSTORABLE_TEXT };
    const found = unstorableAt(item, itemPath, depth + 1);
    if (found) return found;
  }
  return undefined;
}
