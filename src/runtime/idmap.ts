/**
 * User and group id maps: the caller's own id becomes 0 inside, their /etc/subuid
 * (or /etc/subgid) ranges become 1..N. Pure: file contents come in as strings.
 */

export interface IdRange {
  start: number;
  count: number;
}

/** One line of a uid_map: ids inside..inside+count-1 are outside..outside+count-1. */
export interface IdMapping {
  inside: number;
  outside: number;
  count: number;
}

/**
 * The ranges /etc/subuid (or /etc/subgid) grants a user, matched by name or by
 * numeric id, in file order. Malformed lines are skipped, as shadow-utils does.
 */
export function parseSubordinateIds(content: string, user: { name?: string; id: number }): IdRange[] {
  const ranges: IdRange[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (owner === undefined || start === undefined || count === undefined) continue;
    // Number('') and Number(' ') are 0: an empty field would pass as id 0.
    if (start.trim() === '' || count.trim() === '') continue;
    if (owner !== user.name && owner !== String(user.id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(c) || s < 0 || c <= 0) continue;
    ranges.push({ start: s, count: c });
  }
  return ranges;
}

/** The maps for a sandbox: own id -> 0, then each subordinate range after it. */
export function buildIdMappings(ownId: number, ranges: IdRange[]): IdMapping[] {
  const maps: IdMapping[] = [{ inside: 0, outside: ownId, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    // A range that contains the caller's own id would map it twice: the kernel refuses.
    if (ownId >= r.start && ownId < r.start + r.count) continue;
    maps.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return maps;
}

export function formatMapping(m: IdMapping): string {
  return `${m.inside} ${m.outside} ${m.count}`;
}
