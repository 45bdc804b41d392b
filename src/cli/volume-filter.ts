/**
 * `volume ls --filter` (and `volume prune --filter`), as Podman: name=, label=KEY[=VALUE],
 * driver=, scope=, dangling=true|false, until=TIME. The same key twice matches either
 * value, different keys must all match. Pure.
 */
import { SandboxError } from '../errors.js';
import { splitFilter } from './filter-spec.js';
import { labelMatches } from '../labels.js';
import type { VolumeInfo } from '../state/volumes.js';

const KEYS = ['name', 'label', 'driver', 'scope', 'dangling', 'until'] as const;
type Key = (typeof KEYS)[number];

export function parseVolumeFilters(specs: string[]): Map<Key, string[]> {
  const out = new Map<Key, string[]>();
  for (const spec of specs) {
    const { key, value } = splitFilter(spec, KEYS);
    if (key === 'dangling' && !['true', 'false', '1', '0'].includes(value)) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: 'dangling=true or dangling=false' });
    }
    if (key === 'until' && Number.isNaN(timeOf(value, 0))) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: 'until=TIMESTAMP (2024-01-31T10:00:00Z, Unix seconds) or a duration (10m, 2h)' });
    }
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

/** A time as Podman's filters take it: RFC 3339, Unix seconds, or a duration before `now` (10m, 2h30m). */
export function timeOf(value: string, now: number): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value) * 1000;
  const d = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(value);
  if (d && value) return now - ((Number(d[1] ?? 0) * 60 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0)) * 1000;
  return Date.parse(value);
}

function matchOne(v: VolumeInfo, inUse: boolean, key: Key, value: string, now: number): boolean {
  switch (key) {
    case 'name': return v.Name.includes(value);
    case 'label': return labelMatches(v.Labels ?? {}, value);
    case 'driver': return v.Driver === value;
    case 'scope': return value === 'local';
    case 'dangling': return (value === 'true' || value === '1') === !inUse;
    case 'until': return Date.parse(v.CreatedAt) < timeOf(value, now);
  }
}

/** `inUse`: whether a sandbox refers to the volume (only asked for `dangling=`). */
export function matchesVolumeFilters(v: VolumeInfo, inUse: () => boolean, filters: Map<Key, string[]>, now = Date.now()): boolean {
  for (const [key, values] of filters) {
    if (!values.some((value) => matchOne(v, key === 'dangling' ? inUse() : false, key, value, now))) return false;
  }
  return true;
}
