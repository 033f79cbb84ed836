import t, { type Test } from 'tap';
import { AutoSaver, type Connectivity, type Draft, type OnboardingClient, type SaveStatus, type ServerDraft, type Timers } from 'onboarding-service/client';
import { createTestDatabase } from '../helpers/database.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { browserLikeFetch, clientFor, listening } from '../helpers/client.js';
import { PASSWORD, signUp } from '../helpers/factories.js';
import { outageProxy } from '../helpers/outage-proxy.js';

/** Timers the test runs by hand: it sees each requested delay and fires it when it chooses. */
function manualTimers() {
  const scheduled = new Map<number, { callback: () => void; ms: number }>();
  let next = 1;
  const timers: Timers = {
    setTimeout(callback, ms) {
      scheduled.set(next, { callback, ms });
      return next++;
    },
    clearTimeout(handle) {
      scheduled.delete(handle as number);
    },
  };
  return {
    timers,
    /** The delays now waiting, in the order they were asked for. */
    pending: () => [...scheduled.values()].map((entry) => entry.ms),
    /** Runs every waiting timer. */
    fire() {
      const due = [...scheduled.entries()];
      scheduled.clear();
      for (const [, entry] of due) entry.callback();
    },
  };
}

/** A connection the test switches off and on. */
function switchableConnection() {
  let online = true;
  let listeners: (() => void)[] = [];
  const connectivity: Connectivity = {
    isOnline: () => online,
    onOnline(callback) {
      listeners.push(callback);
      return () => (listeners = listeners.filter((listener) => listener !== callback));
    },
  };
  return {
    connectivity,
    set(value: boolean) {
      online = value;
      if (value) for (const listener of [...listeners]) listener();
    },
    isOnline: () => online,
  };
}

/** Signs in through the typed client and returns a saver factory for the owner's workspace. */
async function signedIn(t: Test, baseUrl: string, email: string, options: { offlineWhen?: () => boolean } = {}) {
  const jar = browserLikeFetch();
  const inner = jar.fetch;
  const fetcher = {
    ...jar,
    fetch: async (request: Request) => {
      if (options.offlineWhen?.()) throw new TypeError('fetch failed');
      return inner(request);
    },
  };
  const { client } = clientFor(t, baseUrl, fetcher);
  const signIn = await client.POST('/v1/sessions', { body: { email, password: PASSWORD } });
  t.equal(signIn.response.status, 200, 'signed in');
  return { client, stats: jar.stats };
}

function saverFor(client: OnboardingClient, workspaceId: string, version: number, extra: Partial<ConstructorParameters<typeof AutoSaver>[0]> = {}) {
  const statuses: SaveStatus[] = [];
  const conflicts: { mine: Draft; theirs: ServerDraft }[] = [];
  const clock = manualTimers();
  const saver = new AutoSaver({
    client,
    workspaceId,
    version,
    timers: clock.timers,
    onStatus: (status) => statuses.push(status),
    onConflict: (conflict) => conflicts.push(conflict),
    ...extra,
  });
  return { saver, statuses, conflicts, clock };
}

async function serverDraft(ctx: TestContext, workspaceId: string) {
  return ctx.runtime.db.selectFrom('onboarding_progress').select(['data', 'version', 'current_step']).where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow();
}

t.test('edits are debounced into one save of the latest draft, one save in flight at a time, each on the version the last answered', async (t) => {
  const ctx = await testContext(t);
  const baseUrl = await listening(ctx.app);
  const owner = await signUp(ctx.app);
  const { client, stats } = await signedIn(t, baseUrl, owner.email);
  const { saver, statuses, clock } = saverFor(client, owner.workspaceId, 0);
  const before = stats.requests;

  saver.edit({ data: { step: 1 } });
  saver.edit({ data: { step: 2 } });
  saver.edit({ data: { step: 3 }, currentStep: 'profile_complete' });
  t.same(clock.pending(), [500], 'one debounce timer of 500 ms, restarted by each edit');
  t.equal(stats.requests, before, 'nothing sent while editing');
  clock.fire();
  // While that save runs, more edits come and their debounce fires: they wait for the running save.
  saver.edit({ data: { step: 4 } });
  clock.fire();
  saver.edit({ data: { step: 5 } });
  clock.fire();
  await saver.idle();

  t.equal(stats.maxInFlight, 1, 'never two saves in flight');
  t.equal(saver.status, 'saved');
  const row = await serverDraft(ctx, owner.workspaceId);
  t.same(row.data, { step: 5 }, 'the latest edit is what the server holds');
  t.equal(saver.version, row.version, 'the saver keeps the version each answer returns');
  t.ok(stats.requests - before <= 3, `at most three saves for five edits (${stats.requests - before})`);
  t.equal(statuses[0], 'saving');
  t.equal(statuses.at(-1), 'saved');
});

t.test('two savers of one draft: the later gets the conflict, sends nothing until resolved, then keeps mine or takes theirs', async (t) => {
  const ctx = await testContext(t);
  const baseUrl = await listening(ctx.app);
  const owner = await signUp(ctx.app);
  const laptop = await signedIn(t, baseUrl, owner.email);
  const phone = await signedIn(t, baseUrl, owner.email);
  const a = saverFor(laptop.client, owner.workspaceId, 0);
  const b = saverFor(phone.client, owner.workspaceId, 0);

  a.saver.edit({ data: { from: 'laptop' }, currentStep: 'profile_complete' });
  a.clock.fire();
  await a.saver.idle();
  t.equal(a.saver.version, 1);

  b.saver.edit({ data: { from: 'phone' } });
  b.clock.fire();
  await b.saver.idle();
  t.equal(b.saver.status, 'conflict');
  t.equal(b.conflicts.length, 1);
  t.match(b.conflicts[0], { mine: { data: { from: 'phone' } }, theirs: { version: 1, data: { from: 'laptop' }, currentStep: 'profile_complete' } });

  const sentBefore = phone.stats.requests;
  b.saver.edit({ data: { from: 'phone', more: true } });
  t.same(b.clock.pending(), [], 'no timer while the conflict waits');
  await b.saver.flush();
  t.equal(phone.stats.requests, sentBefore, 'nothing is sent until the caller resolves the conflict');

  t.same(b.saver.resolveConflict('mine'), { data: { from: 'phone', more: true } }, 'keep mine: the latest local draft');
  await b.saver.idle();
  t.equal(b.saver.status, 'saved');
  t.equal(b.saver.version, 2, 're-saved on their version');
  t.same((await serverDraft(ctx, owner.workspaceId)).data, { from: 'phone', more: true });

  a.saver.edit({ data: { from: 'laptop', again: true } });
  a.clock.fire();
  await a.saver.idle();
  t.equal(a.saver.status, 'conflict');
  t.same(a.saver.resolveConflict('theirs'), { data: { from: 'phone', more: true }, currentStep: 'profile_complete' }, 'take theirs: the server draft');
  t.equal(a.saver.version, 2);
  t.equal(a.saver.status, 'saved');
  t.same((await serverDraft(ctx, owner.workspaceId)).data, { from: 'phone', more: true }, 'taking theirs sends nothing');
});

t.test('a stopped database answers 503: retried after 2, 4 and 8 seconds, then error; the next edit after recovery saves', async (t) => {
  const proxy = await outageProxy(new URL(await createTestDatabase(t)));
  await proxy.up();
  t.teardown(() => proxy.down());
  const ctx = await testContext(t, { env: { DATABASE_URL: proxy.url } });
  const baseUrl = await listening(ctx.app);
  const owner = await signUp(ctx.app);
  const { client, stats } = await signedIn(t, baseUrl, owner.email);
  const { saver, statuses, clock } = saverFor(client, owner.workspaceId, 0);

  await proxy.down();
  saver.edit({ data: { during: 'outage' } });
  clock.fire();
  const asked: number[] = [];
  for (let retry = 0; retry < 3; retry += 1) {
    await eventuallyScheduled(clock);
    asked.push(...clock.pending());
    clock.fire();
  }
  await saver.idle();
  t.same(asked, [2000, 4000, 8000], 'three retries, after 2, 4 and 8 seconds');
  t.equal(saver.status, 'error');
  t.same(statuses.filter((s) => s !== 'saving'), ['error'], 'only the final failure is reported as error');
  t.equal(stats.maxInFlight, 1);

  await proxy.up();
  saver.edit({ data: { after: 'recovery' } });
  clock.fire();
  await saver.idle();
  t.equal(saver.status, 'saved');
  t.same((await serverDraft(ctx, owner.workspaceId)).data, { after: 'recovery' });
});

t.test('the database comes back during the retries: the retry saves', async (t) => {
  const proxy = await outageProxy(new URL(await createTestDatabase(t)));
  await proxy.up();
  t.teardown(() => proxy.down());
  const ctx = await testContext(t, { env: { DATABASE_URL: proxy.url } });
  const baseUrl = await listening(ctx.app);
  const owner = await signUp(ctx.app);
  const { client } = await signedIn(t, baseUrl, owner.email);
  const { saver, clock } = saverFor(client, owner.workspaceId, 0);

  await proxy.down();
  saver.edit({ data: { v: 1 } });
  clock.fire();
  await eventuallyScheduled(clock);
  t.same(clock.pending(), [2000]);
  saver.edit({ data: { v: 2 } });
  t.same(clock.pending(), [500], 'a new edit replaces the retry with its debounce');
  clock.fire();
  await eventuallyScheduled(clock);
  await proxy.up();
  clock.fire();
  await saver.idle();
  t.equal(saver.status, 'saved');
  t.same((await serverDraft(ctx, owner.workspaceId)).data, { v: 2 });
});

t.test('offline: only the latest edit is kept, and it is sent when the connection returns', async (t) => {
  const ctx = await testContext(t);
  const baseUrl = await listening(ctx.app);
  const owner = await signUp(ctx.app);
  const connection = switchableConnection();
  const { client, stats } = await signedIn(t, baseUrl, owner.email, { offlineWhen: () => !connection.isOnline() });
  const { saver, statuses, clock } = saverFor(client, owner.workspaceId, 0, { connectivity: connection.connectivity });

  connection.set(false);
  saver.edit({ data: { n: 1 } });
  clock.fire();
  await saver.idle();
  t.equal(saver.status, 'offline');
  const sent = stats.requests;
  saver.edit({ data: { n: 2 } });
  saver.edit({ data: { n: 3 } });
  t.same(clock.pending(), [], 'no timers while offline');
  t.equal(stats.requests, sent, 'nothing is sent while offline');

  connection.set(true);
  await saver.idle();
  t.equal(saver.status, 'saved');
  t.equal(stats.requests, sent + 1, 'one save when the connection returns');
  t.same((await serverDraft(ctx, owner.workspaceId)).data, { n: 3 }, 'the latest edit, not the older ones');
  t.same(statuses, ['saving', 'offline', 'saving', 'saved']);
});

/** Waits until the saver has asked for a timer (its save is answered), polling the test's own clock. */
async function eventuallyScheduled(clock: ReturnType<typeof manualTimers>): Promise<void> {
  for (let i = 0; i < 600 && clock.pending().length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  if (clock.pending().length === 0) throw new Error('the saver never scheduled a retry');
}
