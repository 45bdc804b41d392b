/**
 * `--filter` of the prunes (`container|image|volume|system prune`), as Podman's:
 * label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (created before: RFC 3339, Unix
 * seconds, or a duration such as 24h). Different filters must all match; two label=
 * filters must both hold, as in Podman. Pure.
 */
import { SandboxError } from '../errors.js';
import { labelMatches } from '../labels.js';
import { timeOf } from './volume-filter.js';
import type { SandboxView } from '../api/lifecycle.js';
import type { ImageRecord } from '../images/store.js';
import type { VolumeInfo } from '../state/volumes.js';

export interface PruneFilter {
  labels: string[];
  notLabels: string[];
  /** Only what was created before this time (ms). */
  until?: number;
}

export function parsePruneFilters(specs: string[], now = Date.now()): PruneFilter {
  const f: PruneFilter = { labels: [], notLabels: [] };
  for (const spec of specs) {
    const m = /^(label!?|until)=(.*)$/.exec(spec);
    if (!m || !m[2]) throw new SandboxError(`invalid filter "${spec}"`, { hint: 'prune filters: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (24h, 2024-01-31T10:00:00Z)' });
    if (m[1] === 'label') f.labels.push(m[2]);
    else if (m[1] === 'label!') f.notLabels.push(m[2]);
    else {
      const t = timeOf(m[2], now);
      if (Number.isNaN(t)) throw new SandboxError(`invalid filter "${spec}"`, { hint: 'until=TIMESTAMP (2024-01-31T10:00:00Z, Unix seconds) or a duration (10m, 24h)' });
      f.until = f.until === undefined ? t : Math.min(f.until, t);
    }
  }
  return f;
}

/** Whether something with these labels, created at `created` (ISO 8601), may be pruned. */
export function prunable(f: PruneFilter, labels: Readonly<Record<string, string>>, created: string): boolean {
  if (!f.labels.every((l) => labelMatches(labels, l))) return false;
  if (f.notLabels.some((l) => labelMatches(labels, l))) return false;
  return f.until === undefined || Date.parse(created) < f.until;
}

/** True when the filter asks nothing (the prune's own rules alone). */
export function isEmptyFilter(f: PruneFilter): boolean {
  return !f.labels.length && !f.notLabels.length && f.until === undefined;
}

/** What each prune is given as its `match` (all undefined without filters: nothing narrowed). */
export interface PruneMatchers {
  sandbox?: (v: SandboxView) => boolean;
  image?: (r: ImageRecord) => boolean;
  volume?: (v: VolumeInfo) => boolean;
}

export const PRUNE_FILTER_HELP = 'label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (24h, RFC 3339; repeatable)';

/** The prunes' matchers for `--filter` values; `imageLabels` reads an image's labels (only asked when a label filter is given). */
export function pruneMatchers(specs: string[] | undefined, imageLabels: (id: string) => Readonly<Record<string, string>>): PruneMatchers {
  const f = parsePruneFilters(specs ?? []);
  if (isEmptyFilter(f)) return {};
  const labelled = f.labels.length > 0 || f.notLabels.length > 0;
  return {
    sandbox: (v) => prunable(f, v.record.request.labels ?? {}, v.record.created),
    image: (r) => prunable(f, labelled ? imageLabels(r.id) : {}, r.created),
    volume: (v) => prunable(f, v.Labels ?? {}, v.CreatedAt),
  };
}
