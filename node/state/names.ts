// Rules for the names operators type (node names, group names), and a clock-free ISO date
// formatter for messages. Pure.

/** Node and group names: what a hostname label allows, plus dots and underscores. */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const nameLengthMax = 63;
export const groupsPerNodeMax = 32;

/** Why `name` cannot name a node or a group, or null when it can. */
export function nameProblem(what: 'node name' | 'group name', name: string): string | null {
  if (name.length === 0) return `${what} is empty`;
  if (name.length > nameLengthMax) return `${what} "${name.slice(0, 20)}..." is longer than ${nameLengthMax} characters`;
  if (!namePattern.test(name)) return `${what} "${name}" may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit`;
  return null;
}

/** Why this list of groups is not acceptable, or null. */
export function groupsProblem(groups: readonly string[]): string | null {
  if (groups.length > groupsPerNodeMax) return `at most ${groupsPerNodeMax} groups, not ${groups.length}`;
  for (const group of groups) {
    const problem = nameProblem('group name', group);
    if (problem !== null) return problem;
  }
  if (new Set(groups).size !== groups.length) return `groups are listed twice in [${groups.join(', ')}]`;
  return null;
}

const msPerDay = 86_400_000;

/** `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`, like Date#toISOString (pure code has no
 *  Date). Civil-from-days after Howard Hinnant's algorithm; valid for years 0-9999. */
export function isoFromMs(ms: number): string {
  const days = Math.floor(ms / msPerDay);
  const msOfDay = ms - days * msPerDay;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const hours = Math.floor(msOfDay / 3_600_000);
  const minutes = Math.floor((msOfDay % 3_600_000) / 60_000);
  const seconds = Math.floor((msOfDay % 60_000) / 1000);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(Math.floor(msOfDay % 1000), 3)}Z`;
}
