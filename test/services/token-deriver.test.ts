import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hashSecret, TokenDeriver } from '../../src/services/token-deriver.js';
import { resolveTokenSecret } from '../../src/token-secret.js';

const secret = Buffer.from('a-server-secret-of-at-least-32-bytes!!');

t.test('a token is the same for the same purpose and id, and differs otherwise', async (t) => {
  const deriver = new TokenDeriver(secret);
  const first = deriver.token('email-verification', 'b7c1d1c2-0000-4000-8000-000000000001');
  t.same(deriver.token('email-verification', 'b7c1d1c2-0000-4000-8000-000000000001'), first);
  t.match(first.token, /^[A-Za-z0-9_-]{43}$/);
  t.same(first.hash, hashSecret(first.token));
  t.not(deriver.token('invitation', 'b7c1d1c2-0000-4000-8000-000000000001').token, first.token);
  t.not(deriver.token('email-verification', 'b7c1d1c2-0000-4000-8000-000000000002').token, first.token);
  t.not(new TokenDeriver(Buffer.from('another-server-secret-of-32-bytes-or-more')).token('email-verification', 'x').token, deriver.token('email-verification', 'x').token);
});

t.test('a code is six digits, stable, and spread over the whole range', async (t) => {
  const deriver = new TokenDeriver(secret);
  const codes = Array.from({ length: 2000 }, (_, i) => deriver.code('signup-code', `flow:${i}`).code);
  t.ok(codes.every((code) => /^\d{6}$/.test(code)));
  t.equal(deriver.code('signup-code', 'flow:7').code, codes[7]);
  t.same(deriver.code('signup-code', 'flow:7').hash, hashSecret(codes[7]!));
  t.ok(new Set(codes).size > 1990, 'codes rarely repeat');
  t.ok(codes.some((code) => code.startsWith('0')) && codes.some((code) => code.startsWith('9')), 'leading digits vary');
});

t.test('a secret shorter than 32 bytes is refused', async (t) => {
  t.throws(() => new TokenDeriver(Buffer.from('short')), /at least 32 bytes/);
});

t.test('without TOKEN_SECRET one secret is generated once under the data directory and kept', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'token-secret-'));
  const dataDir = path.join(dir, 'data');
  const [a, b] = await Promise.all([resolveTokenSecret(undefined, dataDir), resolveTokenSecret(undefined, dataDir)]);
  t.same(a, b, 'two instances starting together agree');
  t.ok(a.length >= 32);
  t.same(await resolveTokenSecret(undefined, dataDir), a, 'a restart reads the same secret');
  t.equal((await stat(path.join(dataDir, 'token-secret'))).mode & 0o777, 0o600, 'only the owner can read it');
  t.equal((await readFile(path.join(dataDir, 'token-secret'), 'utf8')).trim(), a.toString('utf8'));
  t.same(await resolveTokenSecret('configured-secret-0123456789abcdef0123', dataDir), Buffer.from('configured-secret-0123456789abcdef0123'));
});
