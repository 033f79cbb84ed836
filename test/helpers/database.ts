import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Test } from 'tap';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\` (add tap arguments after --).`);
  return value;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: env('TEST_ADMIN_URL') });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh database cloned from the migrated template, dropped when the test ends. */
export async function createTestDatabase(t: Test): Promise<string> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const template = env('TEST_TEMPLATE_DB');
  await admin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${template}`);
        return;
      } catch (error) {
        // Two clones of one template at the same moment: the second waits and tries again.
        if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  });
  t.teardown(() => admin((client) => client.query(`drop database if exists ${name} with (force)`)));
  const url = new URL(env('TEST_ADMIN_URL'));
  url.pathname = `/${name}`;
  return url.toString();
}
