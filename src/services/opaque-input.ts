import { AppError } from '../errors.js';

/**
 * The one place where values a client hands back to us are decoded: cursors (base64url JSON that we
 * minted, but that anyone can forge) and date-time strings. Everything decoded here is checked for
 * type, length and range before it can reach SQL, so a forged value answers 400, never a database
 * error.
 */

/** Earliest and latest instants accepted: years 1 to 9999 in UTC, all of which PostgreSQL and JavaScript dates can hold. */
const MIN_INSTANT = new Date('0001-01-01T00:00:00Z').getTime();
const MAX_INSTANT = new Date('9999-12-31T23:59:59.999Z').getTime();

/** A date-time as RFC 3339 writes it (`T`) or as PostgreSQL prints a timestamptz (a space, `+00`). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The instant a date-time string names, or undefined unless it is a real one: a month that exists,
 * a day within it, no leap second, an offset PostgreSQL takes (at most 15:59), a year from 1 (there
 * is no year 0), and still within years 1 to 9999 once moved to UTC. A missing offset means UTC.
 */
export function parseTimestamp(text: string): Date | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const sign = match[9] === '-' ? -1 : 1;
  const offsetHours = Number(match[10] ?? 0);
  const offsetMinutes = Number(match[11] ?? 0);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 15 || offsetMinutes > 59) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, milliseconds);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear puts the year back.
  const asLocal = new Date(local);
  asLocal.setUTCFullYear(year);
  const instant = asLocal.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return instant >= MIN_INSTANT && instant <= MAX_INSTANT ? new Date(instant) : undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** What each element of a cursor must be: a timestamp (kept as its exact text) or a uuid. */
export type CursorField = 'timestamp' | 'uuid';

const MAX_CURSOR_LENGTH = 500;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Cursors are opaque to callers: base64url of a JSON array of the last row's keyset values. */
export function encodeCursor(values: string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * The values of a cursor made by encodeCursor, each checked against `fields`; anything else (not
 * base64url, not JSON, the wrong length or types, an impossible date) answers 400 invalid_cursor.
 */
export function decodeCursor(cursor: string, fields: readonly CursorField[]): string[] {
  const values = cursor.length <= MAX_CURSOR_LENGTH && BASE64URL.test(cursor) ? parseJson(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  const valid =
    Array.isArray(values) &&
    values.length === fields.length &&
    values.every((value, i) => typeof value === 'string' && value.length <= 64 && (fields[i] === 'uuid' ? UUID.test(value) : parseTimestamp(value) !== undefined));
  if (!valid) throw new AppError('invalid_cursor', 'This cursor is not valid. Start again from the first page.');
  return values as string[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
