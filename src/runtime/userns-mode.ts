/**
 * The id modes (`--userns`, `--uidmap`/`--gidmap`): the sandbox's user namespace as
 * rootless Podman makes its containers'. The default namespace (`userns.ts`: the caller
 * as 0, the /etc/subuid range as 1..N) is where the store's files have their image's
 * ids; a sandbox of another mode gets a namespace nested below it, whose maps are given
 * in the default namespace's ids (Podman's rootless meaning of --uidmap's HOST).
 * Pure: the caller's ids and the sizes of the default namespace come in.
 */
import { SandboxError } from '../errors.js';
import type { IdMapping } from './idmap.js';

export type UsernsMode =
  | { kind: 'default' }
  | { kind: 'keep-id'; uid?: number; gid?: number }
  | { kind: 'auto'; size?: number; uidMapping?: IdMapping[]; gidMapping?: IdMapping[] }
  | { kind: 'nomap' }
  | { kind: 'maps' };

/** What the record keeps: the mode as given and the maps used (ids of the default namespace). */
export interface SandboxIdMappings {
  mode: string;
  uid: IdMapping[];
  gid: IdMapping[];
  /** auto: the slice of the default namespace it holds (uids and gids alike). */
  slice?: AutoSlice;
  /** keep-id: the ids the caller has inside. */
  keepId?: { uid: number; gid: number };
}

/** The maps a nested sandbox uses, in the default namespace's ids (kept in the record). */
export interface InnerMaps {
  uid: IdMapping[];
  gid: IdMapping[];
}

const invalid = (what: string, hint: string) => new SandboxError(what, { hint });
const USERNS_HINT = 'give --userns= "" (the default: you are root inside), host or private (the same), keep-id[:uid=U,gid=G], auto[:size=N] or nomap';

function nonNegative(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw invalid(`--userns: ${what} must be a number, not ${JSON.stringify(text)}`, USERNS_HINT);
  return Number(text);
}

/** `--userns` as given (`keep-id:uid=1000,gid=1000`, `auto:size=2048`, `host`, ...). */
export function parseUsernsMode(value: string | undefined, hasMaps = false): UsernsMode {
  if (hasMaps) {
    if (value && value !== 'host' && value !== '' && value !== 'private') throw invalid(`--userns=${value} cannot be combined with --uidmap/--gidmap`, 'give one of them');
    return { kind: 'maps' };
  }
  if (value === undefined || value === '' || value === 'host' || value === 'private') return { kind: 'default' }; // private: a namespace of its own, which every sandbox has
  const colon = value.indexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  const options = colon < 0 ? [] : value.slice(colon + 1).split(',').filter(Boolean);
  if (name === 'ns' || name === 'container') {
    // Each sandbox's launch makes its user namespace (newuidmap, the nested maps of the modes); joining one made elsewhere is not built yet.
    throw invalid(`--userns=${name}: joining an existing user namespace is not supported yet`, `${USERNS_HINT}; another sandbox's namespaces (its user namespace with them) are shared through --network container:NAME or a pod`);
  }
  const fields = new Map<string, string>();
  /** auto's uidmapping=/gidmapping= (repeatable, as Podman's). */
  const forced: Record<'uidmapping' | 'gidmapping', IdMapping[]> = { uidmapping: [], gidmapping: [] };
  for (const o of options) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw invalid(`--userns=${value}: ${JSON.stringify(o)} is not KEY=VALUE`, USERNS_HINT);
    const key = o.slice(0, eq);
    if (name === 'auto' && (key === 'uidmapping' || key === 'gidmapping')) forced[key].push(parseIdMapOption(o.slice(eq + 1), `--userns=auto:${key}=`));
    fields.set(key, o.slice(eq + 1));
  }
  const only = (allowed: string[]) => {
    for (const k of fields.keys()) if (!allowed.includes(k)) throw invalid(`--userns=${value}: unknown option ${k} for ${name}`, `${name} takes ${allowed.join(', ') || 'no options'}`);
  };
  if (name === 'keep-id') {
    only(['uid', 'gid']);
    const uid = fields.has('uid') ? nonNegative(fields.get('uid')!, 'uid') : undefined;
    const gid = fields.has('gid') ? nonNegative(fields.get('gid')!, 'gid') : undefined;
    return { kind: 'keep-id', ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
  }
  if (name === 'auto') {
    only(['size', 'uidmapping', 'gidmapping']);
    const size = fields.has('size') ? nonNegative(fields.get('size')!, 'size') : undefined;
    if (size === 0) throw invalid('--userns=auto:size=0: a namespace needs at least one id', 'give size=1024 or more, or leave size out');
    return {
      kind: 'auto', ...(size !== undefined ? { size } : {}),
      ...(forced.uidmapping.length ? { uidMapping: forced.uidmapping } : {}), ...(forced.gidmapping.length ? { gidMapping: forced.gidmapping } : {}),
    };
  }
  if (name === 'nomap' && !options.length) return { kind: 'nomap' };
  throw invalid(`--userns=${value}: unknown mode`, USERNS_HINT);
}

/** `--uidmap`/`--gidmap CONTAINER:HOST:SIZE` (HOST: an id of the default namespace). */
export function parseIdMapOption(value: string, flag: string): IdMapping {
  const parts = value.split(':');
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p))) {
    throw invalid(`${flag} ${value}: not CONTAINER:HOST:SIZE`, `e.g. ${flag} 0:1:65536 (HOST counts in the default namespace: 0 is you, 1.. your /etc/subuid range)`);
  }
  const [inside, outside, count] = parts.map(Number) as [number, number, number];
  if (count === 0) throw invalid(`${flag} ${value}: SIZE must be at least 1`, `e.g. ${flag} 0:1:65536`);
  return { inside, outside, count };
}

/** Ranges of `maps` (one side: inside or outside) that overlap each other: the kernel refuses them. */
function overlapping(maps: IdMapping[], side: 'inside' | 'outside'): boolean {
  const sorted = [...maps].sort((a, b) => a[side] - b[side]);
  return sorted.some((m, i) => i > 0 && sorted[i - 1]![side] + sorted[i - 1]!.count > m[side]);
}

/** Checks maps given by the user against the default namespace's `size` ids (0..size-1). */
export function checkUserMaps(maps: IdMapping[], size: number, flag: string): void {
  for (const m of maps) {
    if (m.outside + m.count > size) {
      throw invalid(`${flag} ${m.inside}:${m.outside}:${m.count}: ids past ${size - 1}, the last of the default namespace`,
        `HOST counts in the default namespace (0 is you, 1..${size - 1} your /etc/subuid range): keep HOST+SIZE <= ${size}`);
    }
  }
  if (overlapping(maps, 'inside') || overlapping(maps, 'outside')) throw invalid(`${flag}: the ranges overlap`, 'give ranges that do not overlap, inside and outside');
}

/**
 * keep-id: `id` (the caller's own, or uid=) inside is the caller (0 of the default
 * namespace); the ids below it and above it are the subordinate ones, in order. As
 * Podman's; `size` is the default namespace's (1 + the subordinate range).
 */
export function keepIdMaps(id: number, size: number): IdMapping[] {
  const sub = size - 1;
  if (sub <= 0) return [{ inside: id, outside: 0, count: 1 }];
  const below = Math.min(id, sub);
  const maps: IdMapping[] = [];
  if (below > 0) maps.push({ inside: 0, outside: 1, count: below });
  maps.push({ inside: id, outside: 0, count: 1 });
  if (id < sub) maps.push({ inside: id + 1, outside: id + 1, count: sub - id });
  return maps;
}

/** nomap: the subordinate range as 0..N-1, the caller not mapped at all. */
export function nomapMaps(size: number): IdMapping[] {
  return [{ inside: 0, outside: 1, count: size - 1 }];
}

/** The slice an auto sandbox holds: ids start..start+size-1 of the default namespace. */
export interface AutoSlice {
  start: number;
  size: number;
}

/** Podman's default size: the highest id the image names (passwd, group) + 1, at least 1024. */
export const AUTO_MIN_SIZE = 1024;
export function autoSize(imageIds: number[]): number {
  return Math.max(AUTO_MIN_SIZE, ...imageIds.filter((n) => n < 65534).map((n) => n + 1));
}

/** The first free slice of `size` ids in 1..total-1 (0 is the caller, never given out), or undefined. */
export function allocateSlice(taken: AutoSlice[], size: number, total: number): AutoSlice | undefined {
  let start = 1;
  for (const t of [...taken].sort((a, b) => a.start - b.start)) {
    if (t.start - start >= size) break;
    start = Math.max(start, t.start + t.size);
  }
  return start + size <= total ? { start, size } : undefined;
}

export function sliceMaps(slice: AutoSlice): IdMapping[] {
  return [{ inside: 0, outside: slice.start, count: slice.size }];
}

/** The ids of [lo, hi) not in any of `taken` ([start, start+count) each), as ranges in order. */
function freeRanges(lo: number, hi: number, taken: { start: number; count: number }[]): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  let at = lo;
  for (const t of [...taken].sort((a, b) => a.start - b.start)) {
    if (t.start + t.count <= at) continue;
    if (t.start >= hi) break;
    if (t.start > at) out.push({ start: at, count: t.start - at });
    at = Math.max(at, t.start + t.count);
  }
  if (at < hi) out.push({ start: at, count: hi - at });
  return out;
}

/**
 * auto with uidmapping=/gidmapping= (Podman's: a mapping forced into the automatic
 * namespace, as containers/storage adds it): the forced ranges, and the container's other
 * ids 0..size-1 mapped, in order, to the slice's ids the forced ones do not use.
 */
export function autoMaps(slice: AutoSlice, forced: IdMapping[] = []): IdMapping[] {
  if (!forced.length) return sliceMaps(slice);
  const inside = freeRanges(0, slice.size, forced.map((f) => ({ start: f.inside, count: f.count })));
  const outside = freeRanges(slice.start, slice.start + slice.size, forced.map((f) => ({ start: f.outside, count: f.count })));
  const maps: IdMapping[] = [...forced];
  let o = 0, oUsed = 0;
  for (const r of inside) {
    let iUsed = 0;
    while (iUsed < r.count && o < outside.length) {
      const n = Math.min(r.count - iUsed, outside[o]!.count - oUsed);
      maps.push({ inside: r.start + iUsed, outside: outside[o]!.start + oUsed, count: n });
      iUsed += n; oUsed += n;
      if (oUsed === outside[o]!.count) { o++; oUsed = 0; }
    }
  }
  return maps.sort((a, b) => a.inside - b.inside);
}

/**
 * `--subuidname`/`--subgidname NAME`: the sandbox's ids 0.. are NAME's /etc/subuid ranges
 * (`ranges`, host ids), given in the default namespace's ids (`defaults`: the caller's
 * maps). newuidmap writes only ranges /etc/subuid gives the caller (under their name or
 * uid), so NAME's must be among those; else the one-line refusal.
 */
export function subordinateNameMaps(name: string, ranges: { start: number; count: number }[], defaults: IdMapping[], flag: string, caller: string): IdMapping[] {
  const file = flag === '--subuidname' ? '/etc/subuid' : '/etc/subgid';
  if (!ranges.length) throw invalid(`${flag} ${name}: ${file} has no range for ${name}`, `give a name ${file} lists (yours: ${caller})`);
  const maps: IdMapping[] = [];
  let next = 0;
  for (const r of ranges) {
    const m = defaults.find((d) => d.inside > 0 && r.start >= d.outside && r.start + r.count <= d.outside + d.count);
    if (!m) {
      throw invalid(`${flag} ${name}: its range ${r.start}-${r.start + r.count - 1} in ${file} is not yours, and newuidmap maps only the ranges ${file} gives you`,
        `use a name whose ranges ${file} lists under your name or uid (${caller}), or ask an administrator for a range (usermod --add-subuids)`);
    }
    maps.push({ inside: next, outside: m.inside + (r.start - m.outside), count: r.count });
    next += r.count;
  }
  return maps;
}

/** The ids passwd and group name, for autoSize. */
export function idsNamedIn(passwd: string, group: string): number[] {
  const ids: number[] = [];
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[0] !== 'nobody') ids.push(Number(f[2]), Number(f[3]));
  }
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] !== 'nogroup' && f[0] !== 'nobody') ids.push(Number(f[2]));
  }
  return ids.filter((n) => Number.isSafeInteger(n) && n >= 0);
}

/** The id inside that `outside` (an id of the default namespace) is, under `maps`; undefined when unmapped. */
export function insideId(maps: IdMapping[], outside: number): number | undefined {
  const m = maps.find((r) => outside >= r.outside && outside < r.outside + r.count);
  return m ? m.inside + (outside - m.outside) : undefined;
}

/**
 * /etc/passwd (or /etc/group) with an entry for the keep-id user added when the image
 * has none for that id, as Podman adds one. `line` is the entry.
 */
export function withEntry(file: string, id: number, line: string, idField: number): string {
  const has = file.split('\n').some((l) => l.split(':')[idField] === String(id));
  if (has) return file;
  return `${file}${file && !file.endsWith('\n') ? '\n' : ''}${line}\n`;
}

/** The RunRequest fields of `--userns`, `--uidmap`, `--gidmap`, checked (their syntax; the ranges at create). */
export function usernsRequest(userns: string | undefined, uidMap: string[], gidMap: string[]): { userns?: string; uidMap?: string[]; gidMap?: string[] } {
  parseUsernsMode(userns, uidMap.length + gidMap.length > 0);
  for (const m of uidMap) parseIdMapOption(m, '--uidmap');
  for (const m of gidMap) parseIdMapOption(m, '--gidmap');
  return {
    ...(userns !== undefined && userns !== '' ? { userns } : {}),
    ...(uidMap.length ? { uidMap } : {}),
    ...(gidMap.length ? { gidMap } : {}),
  };
}

/**
 * A sandbox that joins another's namespaces (`--network container:NAME`, a pod member)
 * runs in that sandbox's user namespace, so its ids are that sandbox's: an id mode of its
 * own cannot apply. Refused before anything is made (Podman refuses `--userns` with
 * `--pod` too, and fails at start for `--network container:`).
 */
export function checkUsernsJoin(request: { userns?: string; uidMap?: string[]; gidMap?: string[] }, joins: { container?: string; pod?: string }): void {
  const mode = parseUsernsMode(request.userns, (request.uidMap?.length ?? 0) + (request.gidMap?.length ?? 0) > 0);
  if (mode.kind === 'default' || (joins.container === undefined && joins.pod === undefined)) return;
  const given = mode.kind === 'maps' ? '--uidmap/--gidmap' : `--userns=${request.userns}`;
  if (joins.pod !== undefined) {
    throw invalid(`${given} cannot be given with --pod: a pod's sandboxes share its user namespace`, 'leave it out; the pod\'s ids are those of its infra');
  }
  throw invalid(`${given} cannot be given with --network container:${joins.container}: the sandbox joins ${joins.container}'s user namespace, and its ids`,
    `leave it out, or run ${joins.container} itself with ${given}`);
}

