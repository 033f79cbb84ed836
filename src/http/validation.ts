import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { trimKeyword } from './ajv-keywords.js';

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, removeAdditional: true, useDefaults: true, strict: false, ...options });
  addFormats.default(ajv);
  return trimKeyword(ajv);
}

/**
 * Validation with two Ajv instances: JSON bodies are taken as typed (42 is not a name), while query
 * strings, params and headers, which are always text, are coerced to the schema's types. Every
 * part is first checked for strings PostgreSQL cannot store.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv({ coerceTypes: false });
  const coercing = makeAjv({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => storableFirst((httpPart === 'body' ? strict : coercing).compile(schema as object)) as never;
}

/**
 * A NUL character (`\u0000` in JSON, `%00` in a URL) or half of a surrogate pair is valid input to
 * JSON and URLs but not to PostgreSQL text or jsonb; such input is refused as a field error.
 */
function storableFirst(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    const path = unstorableStringAt(data, '');
    if (path !== undefined) {
      check.errors = [{ instancePath: path, schemaPath: '', keyword: 'storable', params: {}, message: 'must not contain NUL characters or unpaired surrogates' } satisfies ErrorObject];
      return false;
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  return check;
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (text: string) => UNSTORABLE.test(text);

/** The JSON pointer of the first string (value or key) PostgreSQL cannot store, if any. */
function unstorableStringAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return unstorable(value) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (unstorable(key)) return itemPath;
    const found = unstorableStringAt(item, itemPath);
    if (found !== undefined) return found;
  }
  return undefined;
}
