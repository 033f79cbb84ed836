import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import t from 'tap';
import { FRAGMENTS, seedAdminWorkspaces } from '../../bench/seed-admin.js';
import { createPool, type Database } from '../../src/db/database.js';
import { AdminRepository, type WorkspaceFilter } from '../../src/repositories/admin-repository.js';
import { createTestDatabase } from '../helpers/database.js';

const WORKSPACES = 10_000;
const GROWING = ['workspaces', 'onboarding_progress', 'workspace_members', 'accounts', 'invitations', 'subscriptions'];

/** A plan node of EXPLAIN (FORMAT JSON), as far as these checks read it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

t.test('admin search', async (t) => {
  const url = await createTestDatabase(t);
  // createPool's error listeners let the pool outlive the forced drop of the database at teardown.
  const pool = createPool(url, 2);
  const captured: CompiledQuery[] = [];
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (event) => void captured.push(event.query) });
  const admin = new AdminRepository(db);
  t.teardown(() => db.destroy());
  await seedAdminWorkspaces(pool, WORKSPACES, 0, 'seeding the admin search test');

  /** The plan PostgreSQL runs for the list query with `filter` (a generic plan, as prepared statements get), with actual loop counts. */
  async function plan(filter: WorkspaceFilter, cursorPage = false): Promise<PlanNode[]> {
    captured.length = 0;
    const first = await admin.listWorkspaces(filter, 3, undefined, 26);
    if (cursorPage && first.length > 0) {
      const last = first[first.length - 1]!;
      captured.length = 0;
      await admin.listWorkspaces(filter, 3, { at: last.keysetAt, id: last.id }, 26);
    }
    const query = captured[0]!;
    const client = await pool.connect();
    try {
      await client.query('set plan_cache_mode = force_generic_plan');
      await client.query(`prepare listed as ${query.sql}`);
      const literal = (value: unknown) =>
        typeof value === 'number' ? String(value) : client.escapeLiteral(value instanceof Date ? value.toISOString() : String(value));
      const { rows } = await client.query(`explain (analyze, format json) execute listed(${query.parameters.map(literal).join(', ')})`);
      return nodes((rows[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan);
    } finally {
      await client.query('deallocate all');
      await client.query('reset plan_cache_mode');
      client.release();
    }
  }

  const worst: [string, WorkspaceFilter][] = [
    ['no filter', {}],
    ['a name fragment with closed workspaces', { q: FRAGMENTS[2]!, status: 'closed' }],
    ['an email fragment with expired trials', { q: `${FRAGMENTS[13]}-mail`, trialState: 'expired' }],
    ['completed onboarding on the paid plan', { onboarding: 'completed', plan: 'pro' }],
    ['trials ending soon in closed workspaces', { trialState: 'ending_soon', status: 'closed' }],
    ['the oldest workspaces', { createdTo: new Date(Date.now() - 300 * 86_400_000) }],
    ['past-due subscriptions in closed workspaces', { subscriptionStatus: 'past_due', status: 'closed' }],
    ['trialing subscriptions with expired trials', { subscriptionStatus: 'trialing', trialState: 'expired' }],
    ['canceled subscriptions with a name fragment', { subscriptionStatus: 'canceled', q: FRAGMENTS[2]! }],
    ['no subscription on the paid plan', { subscriptionStatus: 'none', plan: 'pro' }],
  ];
  for (const [name, filter] of worst) {
    for (const cursorPage of [false, true]) {
      t.test(`${name}${cursorPage ? ', past the first page' : ''}: read through an index, never a scan of the table`, async (t) => {
        const used = await plan(filter, cursorPage);
        // The tables that grow with the product.
        const scans = used.filter((node) => node['Node Type'] === 'Seq Scan' && GROWING.includes(node['Relation Name'] ?? '')).map((node) => node['Relation Name']);
        t.same(scans, [], 'no sequential scan of a growing table');
        const indexes = used.map((node) => node['Index Name'] ?? '').filter((name) => name.startsWith('workspaces_'));
        t.ok(indexes.length > 0, `workspaces read through ${indexes.join(' and ')}`);
        t.ok(used.some((node) => node['Index Name'] === 'subscriptions_workspace_created_idx'), 'the current subscription is found through subscriptions_workspace_created_idx');
        const ownerLookups = Math.max(...used.filter((node) => node['Relation Name'] === 'accounts').map((node) => node['Actual Loops'] ?? 0));
        t.ok(ownerLookups <= 26, `owners are looked up for the page's rows only (${ownerLookups} lookups)`);
      });
    }
  }

  t.test('q finds a workspace by a fragment of its name or of an owner email, in any letter case, and follows owner changes', async (t) => {
    const [row] = (await pool.query<{ id: string; name: string; email: string }>(
      `select w.id, w.name, a.email from workspaces w join workspace_members m on m.workspace_id = w.id and m.role = 'owner' join accounts a on a.id = m.account_id limit 1`,
    )).rows;
    const ids = async (q: string) => (await admin.listWorkspaces({ q }, 3, undefined, 100)).map((w) => w.id);
    t.ok((await ids(row!.name.toUpperCase())).includes(row!.id), 'by name');
    t.ok((await ids(row!.email.split('@')[0]!.toUpperCase())).includes(row!.id), 'by owner email');
    const member = (await pool.query<{ account_id: string; email: string }>(
      `select m.account_id, a.email from workspace_members m join accounts a on a.id = m.account_id where m.workspace_id = $1 and m.role = 'member' limit 1`,
      [row!.id],
    )).rows[0]!;
    const memberPart = member.email.split('@')[0]!;
    t.notOk((await ids(memberPart)).includes(row!.id), 'a plain member email does not match');
    await pool.query(`update workspace_members set role = 'owner' where workspace_id = $1 and account_id = $2`, [row!.id, member.account_id]);
    t.ok((await ids(memberPart)).includes(row!.id), 'a member made owner matches');
    await pool.query(`update accounts set email = 'renamed-owner@new-domain.example' where id = $1`, [member.account_id]);
    t.ok((await ids('new-domain')).includes(row!.id), 'a changed owner email matches');
    await pool.query(`delete from workspace_members where workspace_id = $1 and account_id = $2`, [row!.id, member.account_id]);
    t.notOk((await ids('new-domain')).includes(row!.id), 'a removed owner no longer matches');
    await pool.query(`update workspaces set name = 'Renamed Zeppelin Works' where id = $1`, [row!.id]);
    t.same(await ids('zeppelin works'), [row!.id], 'a renamed workspace matches its new name');
    t.same(await ids('100%_\\'), [], 'LIKE wildcards in q are taken literally');
  });
});
