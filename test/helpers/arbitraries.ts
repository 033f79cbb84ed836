import fc from 'fast-check';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Mostly in range, sometimes anything two digits can say. */
const part = (min: number, max: number) => fc.oneof({ arbitrary: fc.integer({ min, max }), weight: 5 }, { arbitrary: fc.integer({ min: 0, max: 99 }), weight: 1 });

/** Date-time strings shaped right but with any digits: impossible months, days, hours, offsets, year 0000. */
export const craftedTimestamp = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 9999)),
    month: part(1, 12),
    day: part(1, 31),
    hour: part(0, 23),
    minute: part(0, 59),
    second: part(0, 59),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
    separator: fc.constantFrom('T', ' '),
    zone: fc.oneof(fc.constant('Z'), fc.constant(''), fc.tuple(fc.constantFrom('+', '-'), part(0, 15), part(0, 59)).map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`)),
  })
  .map((p) => `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction ? `.${p.fraction}` : ''}${p.zone}`);
