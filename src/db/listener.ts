import pg from 'pg';

/** A LISTEN connection of its own that reconnects; stop it with `close()`. */
export interface Listener {
  close(): Promise<void>;
}

/**
 * Listens on each channel of `handlers` with one dedicated connection (not from the pool: it must stay
 * open). When the connection drops, notifications may have been missed, so `onReset` runs before
 * listening again.
 */
export function listen(connectionString: string, handlers: Record<string, (payload: string) => void>, onReset: () => void): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString });
    next.on('notification', (message) => {
      if (message.payload) handlers[message.channel]?.(message.payload);
    });
    next.on('error', () => reconnect(next));
    next.on('end', () => reconnect(next));
    try {
      await next.connect();
      for (const channel of Object.keys(handlers)) await next.query(`listen "${channel.replace(/"/g, '""')}"`);
      client = next;
    } catch {
      reconnect(next);
    }
  };

  const reconnect = (dead: pg.Client): void => {
    if (closed || retry) return;
    dead.removeAllListeners('end');
    dead.end().catch(() => {});
    onReset();
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1000);
  };

  const ready = connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await ready;
      await client?.end().catch(() => {});
    },
  };
}
