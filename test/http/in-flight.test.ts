import net from 'node:net';
import t from 'tap';
import { testContext } from '../helpers/app.js';
import { eventually } from '../helpers/processes.js';

t.test('closing the app waits for a request whose client hung up, and then closes', async (t) => {
  const ctx = await testContext(t);
  const order: string[] = [];
  let entered = false;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Stands for a registration still hashing a password: no query runs until the gate opens.
  ctx.app.post('/test/slow', { schema: { hide: true }, config: { database: false } }, async () => {
    entered = true;
    await gate;
    await ctx.runtime.db.selectFrom('accounts').select('id').execute();
    order.push('handler finished its database work');
    return { ok: true };
  });
  // Runs once the server has stopped listening and every connection is gone (onClose runs in reverse).
  ctx.app.addHook('onClose', async () => {
    order.push('server closed');
    release();
  });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = ctx.app.server.address() as net.AddressInfo;

  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('POST /test/slow HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
  await eventually(() => (entered ? true : undefined));
  socket.destroy();

  await ctx.app.close();
  order.push('app closed');
  t.same(order, ['server closed', 'handler finished its database work', 'app closed'], 'close resolves only after the departed request finished');
});

t.test('a client that leaves before its body has arrived does not hold the close back', async (t) => {
  const ctx = await testContext(t, { captureLogs: true });
  let reached = false;
  let arrived = false;
  ctx.app.addHook('onRequest', async (request) => {
    if (request.url === '/test/never') arrived = true;
  });
  ctx.app.post('/test/never', { schema: { hide: true }, config: { database: false } }, async () => {
    reached = true;
    return { ok: true };
  });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = ctx.app.server.address() as net.AddressInfo;

  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  // Half of the promised body, then the client is gone: no handler can run.
  socket.write('POST /test/never HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{"a":');
  await eventually(() => (arrived ? true : undefined));
  socket.destroy();

  await ctx.app.close();
  t.notOk(reached, 'the handler never ran');
  t.notMatch(ctx.logs(), 'closing with requests still running', 'nothing was left counted');
});
