import path from 'node:path';
import { readDevMailbox, type SavedMessage } from '../../mail/mailer.js';
import type { App, RouteDeps } from '../types.js';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Escapes text, turning each http(s) URL in it into a link. */
function linkify(text: string): string {
  return text
    .split(/(https?:\/\/[^\s<>"']+)/g)
    .map((part, index) => (index % 2 === 1 ? `<a href="${escapeHtml(part)}">${escapeHtml(part)}</a>` : escapeHtml(part)))
    .join('');
}

function messageHtml(message: SavedMessage): string {
  return `<article>
<h2>${escapeHtml(message.subject)}</h2>
<p class="meta">To ${escapeHtml(message.to)} &middot; <time>${escapeHtml(message.savedAt)}</time> &middot; ${escapeHtml(message.file)}</p>
${message.link ? `<p class="link"><a href="${escapeHtml(message.link)}">${escapeHtml(message.link)}</a></p>` : ''}
<pre>${linkify(message.text)}</pre>
</article>`;
}

/**
 * The dev mailbox as a page: every saved message, newest first, links clickable. Registered only
 * while SMTP_URL is unset and NODE_ENV is not production: its links hold live tokens.
 */
export async function devMailRoutes(app: App, { config }: RouteDeps): Promise<void> {
  const dir = path.join(config.dataDir, 'mail');
  app.get('/dev/mail', { schema: { hide: true }, config: { rateLimit: false } }, async (_request, reply) => {
    const messages = await readDevMailbox(dir);
    const body = messages.length > 0 ? messages.map(messageHtml).join('\n') : '<p>No mail yet.</p>';
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev mailbox</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}article{border-bottom:1px solid #ddd;padding:1rem 0}.meta{color:#666}pre{white-space:pre-wrap}</style>
</head><body><h1>Dev mailbox</h1><p>${messages.length} message(s) in ${escapeHtml(dir)}, newest first. Not served when SMTP_URL is set or NODE_ENV is production.</p>
${body}
</body></html>`);
  });
}
