import net from 'node:net';
import { freePort } from '../../src/db/embedded.js';

/** A TCP proxy in front of PostgreSQL that the test cuts and restores: a real network outage. */
export async function outageProxy(target: URL): Promise<{ port: number; url: string; up(): Promise<void>; down(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const viaProxy = new URL(target);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(port);
  return {
    port,
    url: viaProxy.toString(),
    up: () =>
      new Promise((resolve) => {
        server = net.createServer((client) => {
          const upstream = net.connect(Number(target.port || 5432), target.hostname);
          track(client);
          track(upstream);
          client.pipe(upstream).pipe(client);
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    down: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
