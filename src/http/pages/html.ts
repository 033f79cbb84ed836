/**
 * Server-rendered HTML with escaping by default: every value interpolated into an `html` template
 * is escaped unless it is itself the result of an `html` template. Chosen over a template engine
 * because the pages are a handful of small views: this keeps them type-checked TypeScript with no
 * second template language, and no value can reach the page unescaped by forgetting a filter.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new Html(out);
}

/** The page frame: language, viewport, the stylesheet and the script modules (pages.js unless the page names its own). */
export function layout(page: { title: string; body: Html; scripts?: readonly string[] }): string {
  const scripts = page.scripts ?? ['/assets/pages.js'];
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title}</title>
<link rel="stylesheet" href="/assets/pages.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
${scripts.map((src) => html`<script type="module" src="${src}"></script>
`)}
</head>
<body>
<main id="main">
${page.body}
</main>
</body>
</html>`}`;
}

/** A field-level error list as the form shows it, tied to each input by aria-describedby. */
export type FieldErrors = Record<string, string>;

/** A labelled input; its error (if any) is announced with it and marks it invalid. */
export function field(input: {
  name: string;
  label: string;
  type?: string;
  value?: string;
  autocomplete?: string;
  readonly?: boolean;
  hint?: string;
  errors?: FieldErrors;
  minlength?: number;
  /** The schema's bounds (see lengthOf in page-forms.ts), so the browser stops an over-long entry and numbers out of range before the server has to. */
  maxlength?: number;
  min?: number;
  max?: number;
  /** Not required (the label should say so). */
  optional?: boolean;
  /** The on-screen keyboard a phone shows (e.g. numeric for a code). */
  inputmode?: string;
}): Html {
  const id = `field-${input.name}`;
  const error = input.errors?.[input.name];
  const describedBy = [input.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field">
<label for="${id}">${input.label}</label>
${input.hint ? html`<p class="hint" id="${id}-hint">${input.hint}</p>` : ''}
${error ? html`<p class="error" id="${id}-error">${error}</p>` : ''}
<input id="${id}" name="${input.name}" type="${input.type ?? 'text'}" value="${input.value ?? ''}"${input.autocomplete ? html` autocomplete="${input.autocomplete}"` : ''}${input.minlength ? html` minlength="${input.minlength}"` : ''}${input.maxlength ? html` maxlength="${input.maxlength}"` : ''}${input.min !== undefined ? html` min="${input.min}"` : ''}${input.max !== undefined ? html` max="${input.max}"` : ''}${input.readonly ? html` readonly` : ''}${input.inputmode ? html` inputmode="${input.inputmode}"` : ''}${input.optional ? '' : html` required`}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${error ? html` aria-invalid="true"` : ''}>
</div>`;
}

/** The CSRF token every form posts back. */
export function csrfInput(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
