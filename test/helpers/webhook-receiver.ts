import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Test } from 'tap';

/** A webhook request as the receiver got it, with the secrets its signatures verified with. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> & { workspaceId: string | null; sequence: number | null } };
  /** Which of the receiver's secrets verified the request (the standardwebhooks package checks). */
  verifiedWith: string[];
}

/**
 * How the receiver answers the next request: a status code, 'hang' (never answers), 'close' (drops
 * the connection without an answer) or 'redirect' (307 to its own URL).
 */
export type Answer = number | 'hang' | 'close' | 'redirect';

/** A local HTTP server that receives webhooks and verifies every signature with the standardwebhooks package. */
export interface WebhookReceiver {
  url: string;
  /** Every request, in arrival order, answered or not. */
  received: ReceivedWebhook[];
  /** Secrets to verify with; a request none verifies is recorded with an empty verifiedWith. */
  secrets: string[];
  /** Answers for the next requests, in order; after them, 200. */
  answers: Answer[];
  /** Stops listening (the port then refuses connections) until `reopen`. */
  close(): Promise<void>;
  reopen(): Promise<void>;
}

export async function startReceiver(t: Test): Promise<WebhookReceiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    secrets: [],
    answers: [],
    close: async () => {
      for (const response of hanging) response.socket?.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    reopen: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve())),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      };
      const verifiedWith = receiver.secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(raw, headers);
          return true;
        } catch {
          return false;
        }
      });
      receiver.received.push({
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body: JSON.parse(raw),
        verifiedWith,
      });
      const answer = receiver.answers.shift() ?? 200;
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      if (answer === 'close') {
        request.socket.destroy();
        return;
      }
      if (answer === 'redirect') {
        response.writeHead(307, { location: `${receiver.url}?redirected` }).end();
        return;
      }
      response.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 300 ? `answer ${answer}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}/hooks`;
  t.teardown(async () => {
    for (const response of hanging) response.socket?.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return receiver;
}
