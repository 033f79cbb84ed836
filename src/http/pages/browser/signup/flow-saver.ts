/// <reference lib="dom" />
import type { OnboardingClient, paths } from '../../../../client/index.js';
import type { FieldErrorsView, Problem } from './field-errors.js';

/** A staged sign-up as GET /v1/signup-flows/current answers it. */
export type Flow = paths['/v1/signup-flows/current']['get']['responses'][200]['content']['application/json'];
type SaveBody = paths['/v1/signup-flows/current']['patch']['requestBody']['content']['application/json'];

/** The auto-saved sections, each one form on the page (`form[data-section=…]`, fields named `section.key`). */
export const SECTIONS = ['profile', 'company', 'address', 'plan'] as const;
export type Section = (typeof SECTIONS)[number];

const DEBOUNCE_MS = 500;
const RETRY_MS = 3000;
const MIN_PASSWORD = 8;

export interface FlowSaverOptions {
  client: OnboardingClient;
  errors: FieldErrorsView;
  /** The flow as last read or saved (its version is what a save is based on). */
  flow: () => Flow | undefined;
  /** A save's answer: the flow the server now holds; `theirs` when another device saved first and this one saved on top of it. */
  adopt: (flow: Flow, theirs: boolean) => void;
  /** The save indicator's text. */
  status: (text: string) => void;
  /** The flow is gone (expired, discarded, completed elsewhere). */
  lost: (problem: Problem) => void;
}

/**
 * Auto-save for the staged sign-up, on PATCH /v1/signup-flows/current with the flow's version: edits
 * are sent 500 ms after the last keystroke, one save at a time, each section only once all its
 * required fields are filled (the API validates a section whole). A 409 means another device saved
 * first: this one takes that version, keeps the sections edited here, and saves them on top; the other
 * sections show what the other device saved. Offline or a server error: kept, and sent again later.
 */
export class FlowSaver {
  /** Sections edited here and not saved yet. */
  readonly #edited = new Set<Section>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  /** The password last sent: it is hashed on arrival, so it goes once, not with every save. */
  #sentPassword = '';

  constructor(private readonly options: FlowSaverOptions) {
    addEventListener('online', () => void this.flush());
  }

  /** Whether a section has edits the server does not have yet. */
  isEdited(section: Section): boolean {
    return this.#edited.has(section);
  }

  /** Records an edit; it is saved once typing pauses. */
  edit(section: Section): void {
    this.#edited.add(section);
    if (!this.#inFlight) this.options.status(this.#pendingStatus());
    this.#schedule(DEBOUNCE_MS);
  }

  /** Saves what is pending now and resolves when no save is running. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight) await this.#inFlight;
    const body = this.#body();
    if (!body) return;
    this.#inFlight = this.#send(body.patch, body.sections, 0).finally(() => (this.#inFlight = undefined));
    await this.#inFlight;
  }

  /** The fields a section cannot be saved without, as this page names them. */
  requiredFields(section: Section): string[] {
    const fields = [...document.querySelectorAll<HTMLInputElement>(`form[data-section="${section}"] [required]`)].map((control) => control.name);
    return [...new Set(fields)];
  }

  /** The indicator between saves: saved, edits waiting for the pause in typing, or a section not filled enough to save. */
  #pendingStatus(): string {
    if (!this.#edited.size) return 'All changes saved.';
    return [...this.#edited].every((section) => this.#ready(section)) ? 'Unsaved changes…' : 'Not saved yet: fill in every required field of this step.';
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), ms);
  }

  /** The PATCH body of every edited section that is filled enough to save. */
  #body(): { patch: SaveBody; sections: Section[] } | undefined {
    const flow = this.options.flow();
    if (!flow) return undefined;
    const patch: Record<string, unknown> = { version: flow.version };
    const sections = [...this.#edited].filter((section) => this.#ready(section));
    for (const section of sections) patch[section] = this.#values(section);
    if (!sections.length) {
      if (this.#edited.size) this.options.status(this.#pendingStatus());
      return undefined;
    }
    for (const section of sections) this.#edited.delete(section);
    return { patch: patch as SaveBody, sections };
  }

  /** Whether a section can be saved: its required fields filled (a password is optional in a save: it goes once it is long enough). */
  #ready(section: Section): boolean {
    return this.requiredFields(section).every((name) => {
      const controls = [...document.querySelectorAll<HTMLInputElement>(`[name="${name}"]`)];
      if (controls[0]?.type === 'radio') return controls.some((control) => control.checked);
      return controls[0]?.type === 'password' || (controls[0]?.value.trim() ?? '') !== '';
    });
  }

  /** A section's values from its form: empty optional fields left out, the password only when new and long enough. */
  #values(section: Section): Record<string, string> {
    const values: Record<string, string> = {};
    for (const control of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>(`form[data-section="${section}"] [name]`)) {
      if (control instanceof HTMLInputElement && control.type === 'radio' && !control.checked) continue;
      const value = control.value.trim();
      const key = control.name.slice(section.length + 1);
      if (control.type === 'password') {
        if (control.value.length < MIN_PASSWORD || control.value === this.#sentPassword) continue;
        this.#sentPassword = control.value;
        values[key] = control.value;
      } else if (value !== '') values[key] = value;
    }
    return values;
  }

  async #send(patch: SaveBody, sections: Section[], conflicts: number): Promise<void> {
    this.options.status('Saving…');
    let answer: Awaited<ReturnType<OnboardingClient['PATCH']>>;
    try {
      answer = await this.options.client.PATCH('/v1/signup-flows/current', { body: patch });
    } catch {
      return this.#retryLater(sections, 'Offline: your changes are kept on this page and saved when the connection returns.');
    }
    if (answer.data) {
      for (const section of sections) this.options.errors.clearSection(section);
      this.options.adopt(answer.data as Flow, conflicts > 0);
      return this.options.status(this.#pendingStatus());
    }
    const problem = answer.error as Problem;
    if (problem.code === 'version_conflict' && problem.current && conflicts < 3) {
      // Another device saved first: show what it saved, except this device's sections, and save those again on top.
      const pendingAgain = sections.filter((section) => this.#edited.has(section));
      for (const section of sections) this.#edited.add(section);
      this.options.adopt(problem.current as Flow, true);
      for (const section of sections) if (!pendingAgain.includes(section)) this.#edited.delete(section);
      return this.#send({ ...patch, version: (problem.current as Flow).version }, sections, conflicts + 1);
    }
    if (problem.status === 401 || problem.status === 410) return this.options.lost(problem);
    if (problem.status === 400) {
      if (patch.profile?.password) this.#sentPassword = '';
      for (const section of sections) this.options.errors.clearSection(section);
      this.options.errors.showProblem(problem);
      return this.options.status("Couldn't save: check the highlighted fields.");
    }
    this.#retryLater(sections, problem.status === 429 ? 'Saving paused for a moment; your changes are kept and saved shortly.' : "Couldn't save. Trying again shortly…");
  }

  #retryLater(sections: Section[], message: string): void {
    for (const section of sections) this.#edited.add(section);
    this.#sentPassword = '';
    this.options.status(message);
    this.#schedule(RETRY_MS);
  }
}
