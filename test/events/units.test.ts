import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isPublicAddress } from '../../src/services/events/webhook-sender.js';
import { generateWebhookSecret, SecretBox } from '../../src/services/events/webhook-secrets.js';

t.test('webhook and step-event configuration', async (t) => {
  t.match(loadConfig({}), {
    onboardingStepEvents: [{ step: 'invited_teammate', eventType: 'member.invited' }],
    webhookAllowPrivate: true,
    webhookTimeoutMs: 15_000,
    webhookLogRetentionDays: 30,
  });
  t.equal(loadConfig({ NODE_ENV: 'production', PAYMENT_GATEWAY: 'local' }).webhookAllowPrivate, false, 'production refuses private addresses by default');
  t.equal(loadConfig({ NODE_ENV: 'production', PAYMENT_GATEWAY: 'local', WEBHOOK_ALLOW_PRIVATE: 'true' }).webhookAllowPrivate, true);
  t.same(loadConfig({ ONBOARDING_STEPS: 'a,b' }).onboardingStepEvents, [], 'the default mapping needs its step');
  t.same(loadConfig({ ONBOARDING_STEP_EVENTS: 'none' }).onboardingStepEvents, []);
  t.same(loadConfig({ ONBOARDING_STEP_EVENTS: 'first_integration:member.joined, invited_teammate:member.invited' }).onboardingStepEvents, [
    { step: 'first_integration', eventType: 'member.joined' },
    { step: 'invited_teammate', eventType: 'member.invited' },
  ]);
  const error = t.throws(() => loadConfig({ ONBOARDING_STEP_EVENTS: 'no_such_step:member.invited', WEBHOOK_TIMEOUT_MS: '5', WEBHOOK_LOG_RETENTION_DAYS: '0' })) as ConfigError;
  for (const name of ['ONBOARDING_STEP_EVENTS', 'WEBHOOK_TIMEOUT_MS', 'WEBHOOK_LOG_RETENTION_DAYS']) t.ok(error.problems.some((p) => p.startsWith(name)), `names ${name}`);
});

t.test('only public unicast addresses count as public, IPv4-mapped IPv6 included', async (t) => {
  for (const address of ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '::ffff:93.184.215.14']) t.ok(isPublicAddress(address), address);
  for (const address of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not an ip']) {
    t.notOk(isPublicAddress(address), address);
  }
});

t.test('secrets: whsec_ + 32 random bytes; sealed with AES-256-GCM, tampering detected', async (t) => {
  const secret = generateWebhookSecret();
  t.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
  t.not(generateWebhookSecret(), secret);
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal(secret);
  t.notOk(sealed.toString('latin1').includes(secret));
  t.equal(box.open(sealed), secret);
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  t.throws(() => box.open(tampered));
  t.throws(() => new SecretBox(randomBytes(32)).open(sealed), 'another key cannot open it');
});
