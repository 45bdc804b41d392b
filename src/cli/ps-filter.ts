/**
 * `ps --filter`, as Podman's: name=, id=, label=KEY[=VALUE], status=, ancestor=, exited=CODE,
 * before=SANDBOX, since=SANDBOX, until=TIME, volume=NAME|DESTINATION; Docker's publish= and expose=
 * PORT[-PORT][/PROTO] (a published, or an exposed or published, container port). The same key given twice matches either value,
 * different keys must all match. Pure (before=/since= are resolved to creation times by
 * the caller's `createdOf`).
 */
import { SandboxError } from '../errors.js';
import { splitFilter } from './filter-spec.js';
import { labelMatches } from '../labels.js';
import type { SandboxView } from '../api/lifecycle.js';
import { timeOf } from './volume-filter.js';

const KEYS = ['name', 'id', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'until', 'volume', 'publish', 'expose', 'pod'] as const;
type Key = (typeof KEYS)[number];

/** Podman's states; `paused` and the passing ones (`restarting`, `removing`) never match here. */
const STATUSES = ['created', 'running', 'paused', 'stopped', 'exited', 'unknown', 'restarting', 'removing'];

export function parseFilters(specs: string[], createdOf: (ref: string) => string = (ref) => ref, podIdOf: (ref: string) => string = (ref) => ref): Map<Key, string[]> {
  const out = new Map<Key, string[]>();
  for (const spec of specs) {
    const { key, value: given } = splitFilter(spec, KEYS);
    let value = given;
    if (key === 'status' && !STATUSES.includes(value)) {
      throw new SandboxError(`invalid filter "${spec}": unknown state ${value}`, { hint: `status is one of ${STATUSES.join(', ')}` });
    }
    if (key === 'exited' && !/^[0-9]+$/.test(value)) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: 'exited=CODE, a number' });
    }
    if (key === 'until' && Number.isNaN(timeOf(value, 0))) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: 'until=TIMESTAMP (2024-01-31T10:00:00Z, Unix seconds) or a duration (10m, 2h)' });
    }
    if ((key === 'publish' || key === 'expose') && !/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(value)) {
      throw new SandboxError(`invalid filter "${spec}"`, { hint: `${key}=PORT[-PORT][/tcp|/udp], a container port or range` });
    }
    if (key === 'before' || key === 'since') value = createdOf(value);
    if (key === 'pod') value = podIdOf(value);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

function matchOne(v: SandboxView, key: Key, value: string, now: number): boolean {
  const r = v.record;
  switch (key) {
    case 'name': return r.name.includes(value); // Podman matches names as substrings (and regexps; not here)
    case 'id': return r.id.startsWith(value);
    case 'status': return (v.state.paused ? 'paused' : v.state.status) === value || (value === 'stopped' && v.state.status === 'exited');
    case 'ancestor': return r.image === value || r.image === `${value}:latest` || (!!r.imageId && r.imageId.replace(/^sha256:/, '').startsWith(value.replace(/^sha256:/, '')));
    case 'label': return labelMatches(r.request.labels ?? {}, value);
    case 'exited': return v.state.status === 'exited' && (v.state.exitCode ?? -1) === Number(value);
    case 'before': return r.created < value;
    case 'since': return r.created > value;
    case 'until': return Date.parse(r.created) < timeOf(value, now);
    // A named volume by its name, or any mount by where it is mounted (as Podman).
    case 'pod': return r.request.pod === value;
    case 'volume': return r.request.volumes.some((m) => m.target === value || ('volume' in m && m.volume === value) || (m.kind === 'volume' && m.name === value));
    case 'publish': return portMatches((r.request.ports ?? []).map((p) => `${p.containerPort}/${p.protocol}`), value);
    case 'expose': return portMatches([...(r.request.ports ?? []).map((p) => `${p.containerPort}/${p.protocol}`), ...r.request.expose ?? []], value);
  }
}

/** Whether one of `ports` (`80/tcp`) is in `spec`'s port or range (Docker's publish= and expose=; tcp by default). */
function portMatches(ports: string[], spec: string): boolean {
  const [range = '', proto = 'tcp'] = spec.toLowerCase().split('/');
  const [first, last = first] = range.split('-').map(Number);
  return ports.some((p) => {
    const [port, protocol] = p.split('/');
    return protocol === proto && Number(port) >= first! && Number(port) <= last!;
  });
}

export function matchesFilters(v: SandboxView, filters: Map<Key, string[]>, now = Date.now()): boolean {
  for (const [key, values] of filters) if (!values.some((value) => matchOne(v, key, value, now))) return false;
  return true;
}

/** `ps --sort` keys, as Podman's. */
export const SORT_KEYS = ['command', 'created', 'id', 'image', 'names', 'runningfor', 'size', 'status'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export function checkSortKey(key: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw new SandboxError(`invalid --sort ${JSON.stringify(key)}`, { hint: `sort by one of ${SORT_KEYS.join(', ')}` });
  }
  return key as SortKey;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Orders rows as Podman's `--sort`: created oldest first, runningfor by the start of the
 * current run (never started first, as Podman's StartedAt 0), text keys ascending, size
 * smallest first (`sizeOf`, the root file system's size as Podman's, only asked for
 * `size`). `statusOf` is the state's word (created, running, exited, paused: Podman sorts
 * by its State, not the STATUS column's text). Stable. Pure.
 */
export function sortViews(views: SandboxView[], key: SortKey, statusOf: (v: SandboxView) => string, sizeOf: (v: SandboxView) => number = () => 0): SandboxView[] {
  const cmp: Record<SortKey, (a: SandboxView, b: SandboxView) => number> = {
    command: (a, b) => byText(a.record.command.join(' '), b.record.command.join(' ')),
    created: (a, b) => byText(a.record.created, b.record.created),
    runningfor: (a, b) => byText(a.state.startedAt ?? '', b.state.startedAt ?? ''),
    id: (a, b) => byText(a.record.id, b.record.id),
    image: (a, b) => byText(a.record.image, b.record.image),
    names: (a, b) => byText(a.record.name, b.record.name),
    size: (a, b) => sizeOf(a) - sizeOf(b),
    status: (a, b) => byText(statusOf(a), statusOf(b)),
  };
  return [...views].sort(cmp[key]);
}
