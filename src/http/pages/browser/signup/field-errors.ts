/// <reference lib="dom" />
import type { components } from '../../../../client/index.js';

/** A problem document, with the extras the staged sign-up's answers carry. */
export type Problem = components['schemas']['Problem'] & { attemptsLeft?: number; current?: unknown; clientSecret?: string | null };

/**
 * Error text tied to its field, as the server-rendered pages do it: a `.error` paragraph named by the
 * control's aria-describedby, and aria-invalid on inputs (a fieldset of radios gets the text only).
 * Controls are found by their id, `field-<name>`.
 */
export class FieldErrorsView {
  constructor(private readonly root: HTMLElement) {}

  /**
   * Shows (or, with no message, clears) the error of one field. `announce` makes the note itself an
   * alert, for an error that arrives after the person acted elsewhere (a declined card): read once, where it belongs.
   */
  set(name: string, message: string | undefined, { announce = false } = {}): void {
    const control = document.getElementById(`field-${name}`);
    if (!control) return;
    const errorId = `field-${name}-error`;
    const describedBy = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== errorId);
    document.getElementById(errorId)?.remove();
    if (message) {
      const note = document.createElement('p');
      note.className = 'error';
      note.id = errorId;
      note.textContent = message;
      if (announce) note.setAttribute('role', 'alert');
      if (control instanceof HTMLFieldSetElement) control.querySelector('legend')!.after(note);
      else control.before(note);
      describedBy.push(errorId);
    }
    if (describedBy.length) control.setAttribute('aria-describedby', describedBy.join(' '));
    else control.removeAttribute('aria-describedby');
    if (control instanceof HTMLFieldSetElement) return;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }

  /** Clears every error of a section (`profile` clears `profile.*`). */
  clearSection(section: string): void {
    for (const note of this.root.querySelectorAll<HTMLElement>(`[id^="field-${section}."][id$="-error"]`)) this.set(note.id.slice('field-'.length, -'-error'.length), undefined);
  }

  /** Whether a section shows an error. */
  any(section: string): boolean {
    return this.root.querySelector(`[id^="field-${section}."][id$="-error"]`) !== null;
  }

  /** Marks the empty required fields among `names` ("First name is required") and focuses the first; true when none is empty. */
  requireFilled(names: readonly string[]): boolean {
    let ok = true;
    for (const name of names) {
      const control = document.getElementById(`field-${name}`);
      const value = control instanceof HTMLFieldSetElement ? (control.querySelector<HTMLInputElement>('input:checked')?.value ?? '') : ((control as HTMLInputElement | null)?.value.trim() ?? '');
      const minLength = control instanceof HTMLInputElement ? control.minLength : -1;
      const problem = !value ? 'is required' : minLength > 0 && value.length < minLength ? `must be at least ${minLength} characters` : undefined;
      this.set(name, problem && `${this.label(name)} ${problem}.`);
      if (problem) ok = false;
    }
    if (!ok) this.focusFirst();
    return ok;
  }

  /** Shows a validation problem's field errors (focus stays put: it may come from an auto-save while typing); `field` renames the API's `apiField` to this page's (resumeEmail for email). True when it had any. */
  showProblem(problem: Problem, field?: string, apiField = field): boolean {
    const list = problem.errors ?? [];
    for (const error of list) {
      const name = field && error.field === apiField ? field : error.field;
      this.set(name, `${this.label(name)} ${error.message.replace(/\.$/, '')}.`);
    }
    return list.length > 0;
  }

  /** Moves focus to the first field that shows an error. */
  focusFirst(): void {
    const note = this.root.querySelector<HTMLElement>('section:not([hidden]) .error[id$="-error"]');
    if (note) this.focus(note.id.slice('field-'.length, -'-error'.length));
  }

  /** Moves focus to a field; in a group of radios, to the one chosen (or the first). */
  focus(name: string): void {
    const control = document.getElementById(`field-${name}`);
    (control instanceof HTMLFieldSetElement ? (control.querySelector<HTMLInputElement>('input:checked') ?? control.querySelector('input')) : control)?.focus();
  }

  private label(name: string): string {
    const control = document.getElementById(`field-${name}`);
    const text = control instanceof HTMLFieldSetElement ? control.querySelector('legend')?.firstChild?.textContent : this.root.querySelector(`label[for="field-${name}"]`)?.textContent;
    return (text ?? name).replace(/\s*\(optional\)$/, '').trim();
  }
}
