import type { Ajv } from 'ajv';

/** The one message of a trimmed string's length, also for the raw cap that guards the trim (see TrimmedString). */
export function trimmedLengthMessage(bounds: { min: number; max: number }): string {
  const range = bounds.min > 0 ? `${bounds.min} to ${bounds.max}` : `at most ${bounds.max}`;
  return `must be ${range} characters long, not counting spaces at either end`;
}

/** Bounds of a trimmed string; `line`: one line of visible text (see lineProblem). */
export interface TrimRule {
  min: number;
  max: number;
  line?: boolean;
}

/** C0/C1 controls (tabs, line breaks, NUL, ESC), the Unicode line and paragraph separators. */
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
/**
 * Bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): they
 * reorder the text around them where it is shown (Unicode Technical Report 36, "Bidirectional
 * Text Spoofing"), so a name could read as something else in an email or the back office.
 */
const DIRECTION_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/**
 * Anything a reader sees: not a space of any kind, not an invisible format character (ZWSP, ZWJ,
 * BOM), not a mark alone (combining accents, variation selectors), not a blank that Unicode counts
 * as a letter or symbol (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0; the braille blank U+2800).
 */
const VISIBLE = /[^\p{Z}\p{Cf}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/u;

/**
 * Why `text` (trimmed) is not one line of visible text, or undefined when it is: names, company and
 * address lines end up in emails, CSV and pages, where a line break or a direction override lets
 * whoever chose the name write lines or reorder text in what others read.
 */
export function lineProblem(text: string): string | undefined {
  if (CONTROL.test(text)) return 'must not contain control characters such as line breaks or tabs';
  if (DIRECTION_CONTROL.test(text)) return 'must not contain direction override characters';
  if (text.length > 0 && !VISIBLE.test(text)) return 'must contain visible characters, not only spaces or invisible ones';
  return undefined;
}

/**
 * `x-trim: {min, max, line?}`: trims a string in place, then checks its length, and with `line` that
 * it is one line of visible text. Names are limited "after trimming", which no standard keyword can
 * say; doing it here keeps the rule in the schema.
 */
export function trimKeyword(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-trim',
    type: 'string',
    modifying: true,
    errors: true,
    validate: function validateTrim(schema: TrimRule, data: string, _parentSchema, ctx) {
      const trimmed = data.trim();
      if (ctx?.parentData !== undefined && ctx.parentDataProperty !== undefined) {
        (ctx.parentData as Record<string | number, unknown>)[ctx.parentDataProperty] = trimmed;
      }
      const problem =
        trimmed.length < schema.min || trimmed.length > schema.max ? trimmedLengthMessage(schema) : schema.line ? lineProblem(trimmed) : undefined;
      if (problem) (validateTrim as { errors?: unknown[] }).errors = [{ keyword: 'x-trim', message: problem, params: schema }];
      return problem === undefined;
    },
  });
  return ajv;
}
