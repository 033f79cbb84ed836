import type { Ajv } from 'ajv';

/** The one message of a trimmed string's length, also for the raw cap that guards the trim (see TrimmedString). */
export function trimmedLengthMessage(bounds: { min: number; max: number }): string {
  const range = bounds.min > 0 ? `${bounds.min} to ${bounds.max}` : `at most ${bounds.max}`;
  return `must be ${range} characters long, not counting spaces at either end`;
}

/**
 * `x-trim: {min, max}`: trims a string in place, then checks its length. Names are limited "after
 * trimming", which no standard keyword can say; doing it here keeps the rule in the schema.
 */
export function trimKeyword(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-trim',
    type: 'string',
    modifying: true,
    errors: true,
    validate: function validateTrim(schema: { min: number; max: number }, data: string, _parentSchema, ctx) {
      const trimmed = data.trim();
      if (ctx?.parentData !== undefined && ctx.parentDataProperty !== undefined) {
        (ctx.parentData as Record<string | number, unknown>)[ctx.parentDataProperty] = trimmed;
      }
      const ok = trimmed.length >= schema.min && trimmed.length <= schema.max;
      if (!ok) {
        (validateTrim as { errors?: unknown[] }).errors = [
          { keyword: 'x-trim', message: trimmedLengthMessage(schema), params: schema },
        ];
      }
      return ok;
    },
  });
  return ajv;
}
