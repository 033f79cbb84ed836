// The pages work without JavaScript (plain form POSTs); this module only improves them.
// 1. After a failed submit, focus moves to the message that says what went wrong.
const focusTarget = document.querySelector('[data-autofocus]');
if (focusTarget instanceof HTMLElement) {
  if (!focusTarget.hasAttribute('tabindex') && !(focusTarget instanceof HTMLInputElement)) focusTarget.setAttribute('tabindex', '-1');
  focusTarget.focus();
}
// 2. A submitted form cannot be sent twice; its button says the request is under way.
for (const form of document.querySelectorAll('form')) {
  form.addEventListener('submit', () => {
    const button = form.querySelector('button[type="submit"]');
    if (!(button instanceof HTMLButtonElement)) return;
    // Disabled after this tick, so the button's own name/value still goes with the form.
    setTimeout(() => {
      button.disabled = true;
      if (button.dataset.busy) button.textContent = button.dataset.busy;
    }, 0);
    form.setAttribute('aria-busy', 'true');
  });
}
