// ISO 8601 date-times for EXT-X-PROGRAM-DATE-TIME, without Date (the playlist code is pure and
// may not read a clock; Date's parser also accepts far more than a playlist should carry).
// Civil-date arithmetic after Howard Hinnant's days_from_civil / civil_from_days: exact for
// every proleptic Gregorian date, no leap-second handling (HLS has none either).

import { isoFromMs } from '../state/names.ts';

const msPerDay = 86_400_000;

/** Years outside this range are refused: a program date-time there is a broken clock. */
export const pdtYearMin = 1970;
export const pdtYearMax = 9999;

/** `2026-08-22T10:00:06.000Z`: the form RFC 8216 §4.3.2.6 asks for, always UTC, milliseconds. */
export function formatIsoMs(epochMs: number): string {
  return isoFromMs(Math.floor(epochMs));
}

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Milliseconds since 1970 of an ISO 8601 date-time as players and ffmpeg write it
 *  (`2026-08-22T10:00:06.033+0000`, `...Z`, `...+02:00`; no zone is read as UTC); null when
 *  the text is not one, or names an impossible date. */
export function parseIsoMs(text: string): number | null {
  const match = isoPattern.exec(text.trim());
  if (match === null) return null;
  const [y, mo, d, hh, mi, ss] = [1, 2, 3, 4, 5, 6].map((i) => Number(match[i]));
  if (y! < pdtYearMin || y! > pdtYearMax || mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!)) return null;
  if (hh! > 23 || mi! > 59 || ss! > 60) return null;
  const fraction = match[7] ?? '';
  const ms = fraction === '' ? 0 : Math.floor(Number(fraction.padEnd(3, '0').slice(0, 3)));
  const offsetMin = zoneOffsetMin(match[8] ?? 'Z');
  if (offsetMin === null) return null;
  return daysFromCivil(y!, mo!, d!) * msPerDay + hh! * 3_600_000 + mi! * 60_000 + ss! * 1000 + ms - offsetMin * 60_000;
}

function zoneOffsetMin(zone: string): number | null {
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Days since 1970-01-01 of a civil date (month 1-12). */
function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
