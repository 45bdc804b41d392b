/**
 * `ps --filter`: Docker's rules — the same key given twice matches either value, different
 * keys must all match. Pure.
 */
import { SandboxError } from '../errors.js';
import { labelMatches } from '../labels.js';
import type { SandboxView } from '../api/lifecycle.js';

const KEYS = ['name', 'id', 'label', 'status', 'ancestor'] as const;
type Key = (typeof KEYS)[number];

export function parseFilters(specs: string[]): Map<Key, string[]> {
  const out = new Map<Key, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = (eq > 0 ? spec.slice(0, eq) : spec) as Key;
    if (eq <= 0 || !KEYS.includes(key)) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: `use KEY=VALUE with KEY one of ${KEYS.join(', ')}` });
    }
    out.set(key, [...(out.get(key) ?? []), spec.slice(eq + 1)]);
  }
  return out;
}

function matchOne(v: SandboxView, key: Key, value: string): boolean {
  const r = v.record;
  switch (key) {
    case 'name': return r.name.includes(value); // Docker matches names as substrings
    case 'id': return r.id.startsWith(value);
    case 'status': return v.state.status === value || (value === 'stopped' && v.state.status === 'exited');
    case 'ancestor': return r.image === value || r.image === `${value}:latest` || (!!r.imageId && r.imageId.replace(/^sha256:/, '').startsWith(value.replace(/^sha256:/, '')));
    case 'label': return labelMatches(r.request.labels ?? {}, value);
  }
}

export function matchesFilters(v: SandboxView, filters: Map<Key, string[]>): boolean {
  for (const [key, values] of filters) if (!values.some((value) => matchOne(v, key, value))) return false;
  return true;
}
