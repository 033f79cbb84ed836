import type { Ajv } from 'ajv';

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
          { keyword: 'x-trim', message: `must be ${schema.min} to ${schema.max} characters long, not counting spaces at either end`, params: schema },
        ];
      }
      return ok;
    },
  });
  return ajv;
}
