import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import type { FieldError } from '../../errors.js';
import type { FieldErrors } from './html.js';

/**
 * Shows a page's form again after its body (or a GET form's query) failed the route's schema (too
 * long, malformed, a control character in a name): the values typed, each error tied to its field, status 400. A page
 * route names its renderer in `config.pageForm`; the pages' error handler calls it.
 */
export type PageFormRenderer = (request: FastifyRequest, reply: FastifyReply, errors: FieldErrors) => unknown;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The page form to show again when the body fails the schema (see page-forms.ts). */
    pageForm?: PageFormRenderer;
  }
}

/** The string fields of a GET form's query that passed validation: what can still be applied beside the errors. */
export function validFields(query: unknown, errors: FieldErrors): Record<string, string> {
  return Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !errors[entry[0]]));
}

/** The validator's field errors as the form shows them: one sentence per field. */
export function formErrors(errors: readonly FieldError[]): FieldErrors {
  const byField: FieldErrors = {};
  for (const { field, message } of errors) byField[field] ??= `This field ${message}.`;
  return byField;
}

/** A string field of a body (or a GET form's query) that failed validation (anything else is dropped, never echoed). */
export function typed(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The input attributes a string schema's bounds imply: `maxlength` (a trimmed string's own bound, not its raw guard) and `minlength`. */
export function lengthOf(schema: TSchema): { maxlength?: number; minlength?: number } {
  const { maxLength, minLength, 'x-trim': trim } = schema as { maxLength?: number; minLength?: number; 'x-trim'?: { min: number; max: number } };
  if (trim) return { maxlength: trim.max, ...(trim.min > 1 ? { minlength: trim.min } : {}) };
  return { ...(maxLength !== undefined ? { maxlength: maxLength } : {}), ...(minLength !== undefined && minLength > 1 ? { minlength: minLength } : {}) };
}
