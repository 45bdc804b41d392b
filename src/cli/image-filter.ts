/**
 * `images --filter`: dangling=true|false, reference=PATTERN (a shell-style glob on
 * NAME or NAME:TAG, as Docker), label=KEY[=VALUE], before=IMAGE, since=IMAGE. Pure.
 */
import { SandboxError } from '../errors.js';
import { labelMatches } from '../labels.js';
import type { ImageSummary } from '../api/images.js';

export interface ImageFilters {
  dangling?: boolean;
  references: RegExp[];
  /** `KEY` or `KEY=VALUE`, all of which must match (labelMatches). */
  labels: string[];
  /** Created before / after these times (resolved from the images the filters name). */
  before?: string;
  since?: string;
}

const KEYS = ['dangling', 'reference', 'label', 'before', 'since'];

/** A glob (`*` within a path component, `?`, `**` across) as a whole-string pattern. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') { out += '.*'; i++; } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Parses the filters; `createdOf` gives the creation time of the image a before=/since= names. */
export function parseImageFilters(values: string[], createdOf: (image: string) => string): ImageFilters {
  const f: ImageFilters = { references: [], labels: [] };
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const value = eq < 0 ? '' : v.slice(eq + 1);
    if (!KEYS.includes(key) || eq < 0) {
      throw new SandboxError(`invalid filter "${v}"`, { hint: `filters are KEY=VALUE with KEY one of ${KEYS.join(', ')}` });
    }
    if (key === 'dangling') {
      if (!['true', 'false', '1', '0'].includes(value)) throw new SandboxError(`invalid filter "${v}"`, { hint: 'dangling=true or dangling=false' });
      f.dangling = value === 'true' || value === '1';
    } else if (key === 'reference') f.references.push(globToRegExp(value));
    else if (key === 'label') f.labels.push(value);
    else if (key === 'before') f.before = createdOf(value);
    else f.since = createdOf(value);
  }
  return f;
}

export function matchesImageFilters(row: ImageSummary, labels: Record<string, string>, f: ImageFilters): boolean {
  if (f.dangling !== undefined && row.dangling !== f.dangling) return false;
  if (f.references.length) {
    const names = row.dangling ? [] : [row.repository, `${row.repository}:${row.tag}`];
    // Docker also matches the last path component ("busybox" matches "localhost/busybox").
    const short = row.repository.split('/').pop()!;
    names.push(short, `${short}:${row.tag}`);
    if (row.dangling || !f.references.some((r) => names.some((n) => r.test(n)))) return false;
  }
  if (!f.labels.every((spec) => labelMatches(labels, spec))) return false;
  if (f.before && !(row.created < f.before)) return false;
  if (f.since && !(row.created > f.since)) return false;
  return true;
}

/** `images --sort` keys, as Podman's. */
export const IMAGE_SORT_KEYS = ['created', 'id', 'repository', 'size', 'tag'] as const;

/**
 * Orders `images` rows as Podman's `--sort`: created newest first (the default order),
 * the others ascending; stable, so the names of one image keep their order. Pure.
 */
export function sortImageRows(rows: ImageSummary[], key: (typeof IMAGE_SORT_KEYS)[number]): ImageSummary[] {
  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const cmp: Record<typeof key, (a: ImageSummary, b: ImageSummary) => number> = {
    created: (a, b) => text(b.created, a.created),
    id: (a, b) => text(a.id, b.id),
    repository: (a, b) => text(a.repository, b.repository),
    size: (a, b) => a.size - b.size,
    tag: (a, b) => text(a.tag, b.tag),
  };
  return [...rows].sort(cmp[key]);
}
