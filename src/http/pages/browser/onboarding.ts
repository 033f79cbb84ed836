/**
 * The onboarding page's browser module (bundled by `npm run pages:build` into assets/onboarding.js):
 * every edit of the draft form goes through the typed client's AutoSaver, whose status is shown in a
 * live region; a conflict opens a dialog that shows, field by field, what another tab or device saved
 * beside this person's edit. Nothing is lost either way: answers only the other side changed are
 * always taken in, and answers only this side changed are always kept.
 */
import { AutoSaver, createOnboardingClient, type Connectivity, type Draft, type SaveStatus, type ServerDraft } from '../../../client/index.js';

type Data = Record<string, unknown>;

const form = document.querySelector<HTMLFormElement>('#draft-form');
const statusLine = document.querySelector<HTMLElement>('#save-status');
if (form && statusLine && statusLine.dataset.state !== 'readonly') start(form, statusLine);

/**
 * Whether the server can be reached: offline when the device is, and also after a request found no
 * server at all (a dropped network, a restart); then /healthz is tried every 2 seconds until it answers.
 */
function serverConnectivity(): Connectivity & { fetch: typeof fetch } {
  let unreachable = false;
  return {
    isOnline: () => navigator.onLine && !unreachable,
    onOnline(callback) {
      let timer: number | undefined;
      const back = () => {
        stop();
        unreachable = false;
        callback();
      };
      const probe = () => {
        timer = window.setTimeout(() => {
          if (!navigator.onLine) return probe();
          fetch('/healthz', { cache: 'no-store' }).then(back, probe);
        }, 2000);
      };
      const stop = () => {
        window.clearTimeout(timer);
        window.removeEventListener('online', onOnlineEvent);
      };
      const onOnlineEvent = () => {
        stop();
        probe();
      };
      window.addEventListener('online', onOnlineEvent);
      probe();
      return stop;
    },
    fetch: async (input, init) => {
      try {
        const response = await fetch(input, init);
        unreachable = false;
        return response;
      } catch (error) {
        unreachable = true;
        throw error;
      }
    },
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? '') === JSON.stringify(b ?? '');

function start(form: HTMLFormElement, statusLine: HTMLElement): void {
  const fields = [...form.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input[name], select[name], textarea[name]')];
  const labelOf = (key: string) => form.querySelector(`label[for="draft-${key}"]`)?.textContent ?? key;
  const retry = document.querySelector<HTMLButtonElement>('#save-retry')!;
  const review = document.querySelector<HTMLButtonElement>('#conflict-review')!;
  const dialog = document.querySelector<HTMLDialogElement>('#conflict-dialog')!;

  /** The draft as the server last confirmed it (keys the form does not show are kept in it). */
  let base: Data = JSON.parse(form.dataset.draft ?? '{}') as Data;
  let currentStep: string | null = form.dataset.currentStep || null;
  /** The last draft handed to the saver: what the server holds once it reports `saved`. */
  let latest: Draft = { data: base, currentStep };
  let conflict: { mine: Draft; theirs: ServerDraft } | undefined;

  const connectivity = serverConnectivity();
  const client = createOnboardingClient({ baseUrl: window.location.origin, fetch: connectivity.fetch });
  const saver = new AutoSaver({
    client,
    workspaceId: form.dataset.workspaceId!,
    version: Number(form.dataset.version),
    connectivity,
    onStatus: show,
    onConflict: (found) => {
      conflict = found;
      openConflict(found);
    },
  });

  const formValues = (): Data => Object.fromEntries(fields.map((f) => [f.name, f.value]));
  const fill = (data: Data) => {
    for (const f of fields) f.value = typeof data[f.name] === 'string' ? (data[f.name] as string) : '';
  };
  const edit = (draft: Draft) => {
    latest = draft;
    saver.edit(draft);
  };

  function show(status: SaveStatus): void {
    if (status === 'saved') base = latest.data;
    const text: Record<SaveStatus, string> = {
      saving: 'Saving…',
      saved: 'All changes saved.',
      offline: 'Offline: your changes are kept here and will be saved when the connection returns.',
      error: "Couldn't save your changes.",
      conflict: 'Conflict: these answers were changed on another tab or device.',
    };
    statusLine.dataset.state = status;
    statusLine.textContent = text[status];
    retry.hidden = status !== 'error';
    review.hidden = status !== 'conflict';
  }

  form.addEventListener('input', (event) => {
    const target = event.target as HTMLElement;
    currentStep = target.dataset.step ?? currentStep;
    if (saver.status === 'saved') show('saving');
    edit({ data: { ...base, ...formValues() }, currentStep });
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  retry.addEventListener('click', () => void saver.flush());
  review.addEventListener('click', () => conflict && openConflict(conflict));

  // Leaving (or ticking a step, which reloads the page) first sends what is still waiting.
  for (const stepForm of document.querySelectorAll<HTMLFormElement>('.step-form')) {
    stepForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void saver.flush().then(() => stepForm.submit());
    });
  }
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void saver.flush();
  });
  window.addEventListener('beforeunload', (event) => {
    if (saver.status !== 'saved') event.preventDefault();
  });

  /** Keys this side changed since the last save, and which of them the other side changed differently. */
  function compare(found: { mine: Draft; theirs: ServerDraft }) {
    const keys = new Set([...Object.keys(base), ...Object.keys(found.mine.data), ...Object.keys(found.theirs.data)]);
    const mineChanged = [...keys].filter((k) => !same(found.mine.data[k], base[k]));
    const clashing = mineChanged.filter((k) => !same(found.mine.data[k], found.theirs.data[k]) && !same(found.theirs.data[k], base[k]));
    const theirsOnly = [...keys].filter((k) => !same(found.theirs.data[k], base[k]) && !mineChanged.includes(k));
    return { mineChanged, clashing, theirsOnly };
  }

  /** Settles the conflict: their draft with the keys of mine in `keep` laid over it, saved on their version. */
  function settle(found: { mine: Draft; theirs: ServerDraft }, keep: string[]): void {
    conflict = undefined;
    const data: Data = { ...found.theirs.data };
    for (const key of keep) data[key] = found.mine.data[key];
    fill(data);
    if (keep.length === 0) {
      latest = { data, currentStep: found.theirs.currentStep };
      saver.resolveConflict('theirs');
      return;
    }
    // Replaces the draft the conflict holds, then saves it on the server's version.
    edit({ data, currentStep: found.mine.currentStep ?? found.theirs.currentStep });
    saver.resolveConflict('mine');
  }

  function openConflict(found: { mine: Draft; theirs: ServerDraft }): void {
    const { mineChanged, clashing, theirsOnly } = compare(found);
    // Both sides changed different answers: nothing to choose, both are kept.
    if (clashing.length === 0) return settle(found, mineChanged);
    const rows = document.querySelector('#conflict-rows')!;
    const cell = (tag: 'th' | 'td', value: unknown) => {
      const element = document.createElement(tag);
      if (tag === 'th') element.scope = 'row';
      element.textContent = typeof value === 'string' && value !== '' ? value : '(empty)';
      return element;
    };
    rows.replaceChildren(...clashing.map((key) => {
      const row = document.createElement('tr');
      row.dataset.key = key;
      row.append(cell('th', labelOf(key)), cell('td', found.theirs.data[key]), cell('td', found.mine.data[key]));
      return row;
    }));
    const merged = document.querySelector<HTMLElement>('#conflict-merged')!;
    const otherEdits = [...mineChanged.filter((k) => !clashing.includes(k)), ...theirsOnly];
    merged.hidden = otherEdits.length === 0;
    merged.textContent = otherEdits.length ? `Kept either way: ${otherEdits.map(labelOf).join(', ')}.` : '';
    const choose = (keep: string[]) => () => {
      dialog.close();
      settle(found, keep);
    };
    document.querySelector<HTMLButtonElement>('#conflict-theirs')!.onclick = choose(mineChanged.filter((k) => !clashing.includes(k)));
    document.querySelector<HTMLButtonElement>('#conflict-mine')!.onclick = choose(mineChanged);
    if (!dialog.open) dialog.showModal();
    document.querySelector<HTMLButtonElement>('#conflict-mine')!.focus();
  }

  // Focus stays in the dialog: Tab from its last control goes to its first, Shift+Tab the other way.
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const controls = [...dialog.querySelectorAll<HTMLElement>('button:not([disabled])')];
    const first = controls[0]!;
    const last = controls.at(-1)!;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  // Esc closes the dialog (the native `cancel`); the conflict waits, and "Review the conflict" reopens it.
  dialog.addEventListener('close', () => {
    if (conflict) review.focus();
  });
}
