import { sql } from 'kysely';
import t from 'tap';
import type { Db } from '../../src/db/database.js';
import { hashToken } from '../../src/services/tokens.js';
import { testContext, type TestContext } from '../helpers/app.js';
import { invite, signUp, signUpVerified, uniqueEmail } from '../helpers/factories.js';
import { flowApi, startFlow } from '../helpers/signup.js';
import { tokenFrom, type ReceivedMail } from '../helpers/smtp.js';

/**
 * Makes the next `statement` on `table` fail in PostgreSQL, once: the database blip between the
 * mail server accepting a message and the job recording it.
 */
async function failOnce(db: Db, table: 'email_verifications' | 'email_deliveries', statement: 'update' | 'insert') {
  await sql
    .raw(
      // A sequence, because the failure rolls back anything transactional the trigger would write.
      `create sequence fail_once_calls;
       create function fail_once() returns trigger language plpgsql as $$
       begin
         if nextval('fail_once_calls') = 1 then raise exception 'simulated database failure after the send'; end if;
         return new;
       end $$;
       create trigger fail_once before ${statement} on ${table} for each row execute function fail_once();`,
    )
    .execute(db);
}

/** Runs the due jobs; then makes every job that failed due again at once (its retry) and runs them. */
async function runJobsAndRetry(ctx: TestContext): Promise<void> {
  await ctx.runJobs();
  await sql`select graphile_worker.reschedule_jobs(array(select id from graphile_worker.jobs where attempts > 0), run_at := now())`.execute(ctx.runtime.db);
  await ctx.runJobs();
}

const confirm = (ctx: TestContext, token: string) => ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/confirm', payload: { token } });
const sameMessage = (a: ReceivedMail, b: ReceivedMail) => ({ messageId: a.messageId === b.messageId, token: tokenFrom(a) === tokenFrom(b), text: a.text === b.text });

t.test('verification: when recording "sent" fails after the server accepted, the retry sends exactly the same message; once recorded, nothing more', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  const verification = await ctx.runtime.db.selectFrom('email_verifications').select(['id', 'token_hash']).executeTakeFirstOrThrow();
  await failOnce(ctx.runtime.db, 'email_verifications', 'update');

  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 1, 'the server accepted the first attempt');
  const [failed] = (await sql<{ attempts: number; last_error: string }>`select attempts, last_error from graphile_worker.jobs`.execute(ctx.runtime.db)).rows;
  t.match(failed, { attempts: 1, last_error: /simulated database failure/ }, 'but the job failed to record it, so it retries');

  await runJobsAndRetry(ctx);
  const [first, second] = ctx.smtp.to(owner.email);
  t.ok(second, 'the retry sent again: the outcome of the first attempt was unknown to it');
  t.same(sameMessage(first!, second!), { messageId: true, token: true, text: true }, 'the same Message-ID, link and text');
  t.equal(first!.messageId, `<verification.${verification.id}@localhost>`, 'a Message-ID derived from the verification, at the host of MAIL_FROM');
  t.same(verification.token_hash, hashToken(tokenFrom(first!)), 'the hash stored at sign-up is the link\'s');

  await runJobsAndRetry(ctx);
  t.equal(await ctx.runtime.services.email.sendVerification(verification.id), false, 'a recorded send is never repeated');
  t.equal(ctx.smtp.to(owner.email).length, 2);
  t.equal((await confirm(ctx, tokenFrom(first!))).statusCode, 200, 'whichever copy the person opens works');
});

t.test('verification: when the server refused the first attempt, exactly one email arrives in the end', async (t) => {
  let refused = 0;
  const ctx = await testContext(t, {
    beforeAccept: () => {
      if (refused++ === 0) throw new Error('451 try again later');
    },
  });
  const owner = await signUp(ctx.app);
  await ctx.runJobs();
  t.equal(ctx.smtp.to(owner.email).length, 0, 'refused');
  await runJobsAndRetry(ctx);
  await runJobsAndRetry(ctx);
  t.equal(ctx.smtp.to(owner.email).length, 1, 'one email');
  t.equal((await confirm(ctx, tokenFrom(ctx.smtp.to(owner.email)[0]!))).statusCode, 200);
});

t.test('a resent verification has its own link and Message-ID, and the older link stops working', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '0' } });
  const owner = await signUp(ctx.app);
  await ctx.runJobs();
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/email-verifications/resend', headers: { cookie: owner.cookie } })).statusCode, 202);
  await ctx.runJobs();
  const [first, second] = ctx.smtp.to(owner.email);
  t.not(second!.messageId, first!.messageId);
  t.not(tokenFrom(second!), tokenFrom(first!));
  t.equal((await confirm(ctx, tokenFrom(first!))).statusCode, 400, 'the older link is dead');
  t.equal((await confirm(ctx, tokenFrom(second!))).statusCode, 200);
});

t.test('invitation: a retry after an unknown outcome sends the same message; a resend is a new send with a new link; a superseded send sends nothing', async (t) => {
  const ctx = await testContext(t, { env: { RESEND_COOLDOWN_SECONDS: '0' } });
  const owner = await signUpVerified(ctx);
  const invitee = 'invitee@example.com';
  const created = await invite(ctx.app, owner, owner.workspaceId, invitee);
  t.equal(created.statusCode, 201);
  const invitationId = created.json().id as string;
  await failOnce(ctx.runtime.db, 'email_deliveries', 'insert');

  await runJobsAndRetry(ctx);
  await runJobsAndRetry(ctx);
  const [first, second, extra] = ctx.smtp.to(invitee);
  t.same(sameMessage(first!, second!), { messageId: true, token: true, text: true }, 'the retry sent the same message');
  t.notOk(extra, 'and nothing once the send was recorded');
  t.equal(first!.messageId, `<invitation.${invitationId}.1@localhost>`);
  const preview = await ctx.app.inject({ method: 'GET', url: `/v1/invitations/${tokenFrom(first!)}` });
  t.equal(preview.statusCode, 200, 'the link works');

  const resent = await ctx.app.inject({ method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/invitations/${invitationId}/resend`, headers: { cookie: owner.cookie } });
  t.equal(resent.statusCode, 200);
  await ctx.runJobs();
  const third = ctx.smtp.to(invitee)[2]!;
  t.equal(third.messageId, `<invitation.${invitationId}.2@localhost>`, 'the second send');
  t.not(tokenFrom(third), tokenFrom(first!), 'with a new link');
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invitations/${tokenFrom(first!)}` })).statusCode, 404, 'the first send\'s link is dead');
  t.equal((await ctx.app.inject({ method: 'GET', url: `/v1/invitations/${tokenFrom(third)}` })).statusCode, 200);
  t.equal(await ctx.runtime.services.email.sendInvitation(invitationId, 1), false, 'a late retry of the first send sends nothing');
  t.equal(await ctx.runtime.services.email.sendInvitation(invitationId, 2), false, 'nor does a repeat of the recorded second');
  t.equal(ctx.smtp.to(invitee).length, 3);
});

t.test('trial emails: an owner whose copy was accepted gets no second one when the job retries for another owner', async (t) => {
  let refuseSecondOwner = true;
  const ctx = await testContext(t, {
    beforeAccept: (mail) => {
      if (refuseSecondOwner && mail.to.startsWith('second-owner') && mail.subject.includes('ends soon')) throw new Error('452 mailbox full');
    },
  });
  const owner = await signUpVerified(ctx, { workspaceName: 'Acme' });
  const second = await signUpVerified(ctx, { email: `second-owner-${Date.now()}@example.com` });
  await ctx.runtime.db.insertInto('workspace_members').values({ workspace_id: owner.workspaceId, account_id: second.accountId, role: 'owner' }).execute();
  await sql`update workspaces set trial_ends_at = now() + interval '1 day' where id = ${owner.workspaceId}`.execute(ctx.runtime.db);
  t.equal(await ctx.runtime.services.lifecycle.queueTrialEmails(), 1);

  const trialMails = (email: string) => ctx.smtp.to(email).filter((m) => m.subject.includes('ends soon'));
  await ctx.runJobs();
  t.equal(trialMails(owner.email).length, 1, 'the first owner got it');
  t.equal(trialMails(second.email).length, 0, 'the second owner\'s server refused');
  refuseSecondOwner = false;
  await runJobsAndRetry(ctx);
  await runJobsAndRetry(ctx);
  t.equal(trialMails(owner.email).length, 1, 'no second copy for the first owner');
  t.equal(trialMails(second.email).length, 1, 'one for the second');
  t.match(trialMails(owner.email)[0]!.messageId, new RegExp(`^<trial-ending-soon\\.${owner.workspaceId}\\.\\d+\\.${owner.accountId}@localhost>$`));
});

t.test('a verification written before links were derived (a random hash) still gets a working link', async (t) => {
  const ctx = await testContext(t);
  const owner = await signUp(ctx.app);
  await ctx.runtime.db.updateTable('email_verifications').set({ token_hash: hashToken('a placeholder nobody holds') }).execute();
  await ctx.runJobs();
  const [mail] = ctx.smtp.to(owner.email);
  t.equal((await confirm(ctx, tokenFrom(mail!))).statusCode, 200);
});

t.test('sign-up code: a retry after an unknown outcome sends the same message; once recorded, nothing more', async (t) => {
  const ctx = await testContext(t);
  const flow = await startFlow(ctx);
  const email = uniqueEmail('code');
  t.equal((await flowApi(ctx).setEmail(flow, { email })).statusCode, 202);
  await failOnce(ctx.runtime.db, 'email_deliveries', 'insert');

  await runJobsAndRetry(ctx);
  const [first, second] = ctx.smtp.to(email);
  t.ok(second, 'recording the accepted send failed, so the retry sent again');
  t.same({ messageId: first!.messageId === second!.messageId, text: first!.text === second!.text }, { messageId: true, text: true }, 'the same Message-ID and code');
  t.equal(first!.messageId, `<signup-code.${flow.id}.1@localhost>`);

  const row = await ctx.runtime.db.selectFrom('signup_flows').select(['id', 'code_number']).executeTakeFirstOrThrow();
  t.equal(await ctx.runtime.services.signupLeads.sendCode(row.id, row.code_number), false, 'a recorded send is never repeated');
  await runJobsAndRetry(ctx);
  t.equal(ctx.smtp.to(email).length, 2);
});
