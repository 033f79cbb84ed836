import fc from 'fast-check';
import pg from 'pg';
import t from 'tap';
import { AppError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, parseTimestamp } from '../../src/services/opaque-input.js';
import { craftedTimestamp } from '../helpers/arbitraries.js';
import { createTestDatabase } from '../helpers/database.js';

t.test('parseTimestamp accepts exactly what PostgreSQL accepts, and reads the same instant', async (t) => {
  const client = new pg.Client({ connectionString: await createTestDatabase(t) });
  await client.connect();
  t.teardown(() => client.end());
  await client.query(`set timezone = 'UTC'`);
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(craftedTimestamp, async (text) => {
      const parsed = parseTimestamp(text);
      if (!parsed) return;
      accepted++;
      const { rows } = await client.query<{ us: string }>(`select (extract(epoch from $1::timestamptz) * 1000000)::bigint::text as us`, [text]);
      // PostgreSQL keeps (rounded) microseconds; JavaScript milliseconds.
      const gap = BigInt(rows[0]!.us) - BigInt(parsed.getTime()) * 1000n;
      if (gap < -1n || gap > 1000n) throw new Error(`${text}: PostgreSQL ${rows[0]!.us} µs, parsed ${parsed.getTime()} ms`);
    }),
    { numRuns: 400 },
  );
  t.ok(accepted > 100, `enough accepted values were compared with PostgreSQL (${accepted})`);
  for (const bad of ['2026-13-45T99:99:99Z', '0000-01-01T00:00:00Z', '0000-12-31T23:00:00-01:00', '0001-01-01T00:00:00+01:00', '2026-02-29T00:00:00Z', '2026-01-01T00:00:60Z', '2026-01-01T00:00:00+16:00', '2026-01-01']) {
    t.equal(parseTimestamp(bad), undefined, `refuses ${bad}`);
  }
  t.same(parseTimestamp('2024-02-29 05:50:01.123456+00'), new Date('2024-02-29T05:50:01.123Z'), 'PostgreSQL text');
  t.same(parseTimestamp('2026-11-29T10:00:00+05:30'), new Date('2026-11-29T04:30:00Z'));
  t.same(parseTimestamp('0050-06-01T00:00:00Z')?.toISOString(), '0050-06-01T00:00:00.000Z', 'two-digit years are not taken for 19xx');
});

t.test('decodeCursor gives back what encodeCursor made, and refuses anything else with invalid_cursor', async (t) => {
  const valid = encodeCursor(['2026-11-29 10:00:00.123456+00', '0b7e6f44-5d39-4c3f-9a57-58d2b8a1c0de']);
  t.same(decodeCursor(valid, ['timestamp', 'uuid']), ['2026-11-29 10:00:00.123456+00', '0b7e6f44-5d39-4c3f-9a57-58d2b8a1c0de']);
  const refused = (cursor: string) => {
    try {
      decodeCursor(cursor, ['timestamp', 'uuid']);
      return false;
    } catch (error) {
      return error instanceof AppError && error.code === 'invalid_cursor';
    }
  };
  for (const bad of [
    encodeCursor(['2026-13-45T99:99:99Z', '0b7e6f44-5d39-4c3f-9a57-58d2b8a1c0de']),
    encodeCursor(['0000-01-01T00:00:00Z', '0b7e6f44-5d39-4c3f-9a57-58d2b8a1c0de']),
    encodeCursor(['2026-11-29 10:00:00+00', 'not-a-uuid']),
    encodeCursor(['2026-11-29 10:00:00+00']),
    `${valid}!`,
    'a'.repeat(600),
  ]) {
    t.ok(refused(bad), `refuses ${bad.slice(0, 60)}`);
  }
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url'))), (cursor) => {
      try {
        const values = decodeCursor(cursor, ['timestamp', 'uuid']);
        return values.length === 2 && parseTimestamp(values[0]!) !== undefined;
      } catch (error) {
        return error instanceof AppError && error.code === 'invalid_cursor';
      }
    }),
    { numRuns: 500 },
  );
});
