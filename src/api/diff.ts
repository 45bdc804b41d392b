/**
 * `diff`: what changed in a sandbox's writable layer, as `podman diff`: A added, C
 * changed, D deleted, one path each. The upper directory is read as root of the user's
 * namespace (sandbox-layer list: files of other ids inside stay readable, whiteouts of
 * either kind come out in OCI form); a path is C when the image's layers have it, A when
 * not; a whiteout is D. The mount points a launch makes are left out, as Podman does.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { StorePaths } from '../state/paths.js';
import { findSandbox } from '../state/sandboxes.js';
import { sandboxDir, sandboxDirs } from '../state/sandbox-dir.js';
import { mountPoints } from '../runtime/plan.js';
import { resolveRoot } from './run.js';
import { layerListTar } from '../images/unpack.js';
import { transfer } from '../images/lazy-transfer.js';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  /** Absolute, inside the sandbox. */
  path: string;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * The changes an upper directory's entries (archive paths relative to it, in the order
 * listed) make under `prefix`; `inImage(path)` says whether the image has the path.
 * Pure: unit-tested.
 */
export function classifyChanges(entries: readonly string[], prefix: string, inImage: (path: string) => boolean, hidden: ReadonlySet<string> = new Set()): Change[] {
  const out: Change[] = [];
  for (const entry of entries) {
    const rel = entry.replace(/\/+$/, '');
    if (!rel) continue;
    const base = posix.basename(rel);
    if (base === OPAQUE) continue; // the directory itself is listed
    const dir = posix.dirname(rel);
    const deleted = base.startsWith(WHITEOUT);
    const path = posix.join('/', prefix, dir === '.' ? '' : dir, deleted ? base.slice(WHITEOUT.length) : base);
    if (hidden.has(path)) continue;
    out.push({ kind: deleted ? 'D' : inImage(path) ? 'C' : 'A', path });
  }
  // A directory of the image copied up only to hold a mount point of ours (/run, for
  // /run/.containerenv) is no change of the sandbox's: it holds hidden entries, none else.
  const holdsHidden = (dir: string) => [...hidden].some((h) => h.startsWith(`${dir}/`));
  const holdsShown = (dir: string) => out.some((c) => c.path.startsWith(`${dir}/`));
  return out.filter((c) => !(c.kind === 'C' && holdsHidden(c.path) && !holdsShown(c.path)));
}

/** Whether `path` is in the layers `lowers` (topmost first): the first that has it or a whiteout of it says. */
function inLayers(lowers: readonly string[], path: string): boolean {
  for (const lower of lowers) {
    try {
      const st = lstatSync(join(lower, path));
      return !(st.isCharacterDevice() && st.rdev === 0); // a whiteout: deleted by a layer above the rest
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return true; // under a directory only other ids may search: it is there
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
  }
  return false;
}

async function tarNames(stream: Readable): Promise<string[]> {
  const names: string[] = [];
  for await (const e of transfer().readTar(stream)) if (e.path) names.push(e.path);
  return names;
}

/** The entries of one upper directory (empty when it does not exist). */
async function upperEntries(upper: string): Promise<string[]> {
  try {
    if (readdirSync(upper).length === 0) return [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    // Not ours to read: the helper, as root of the namespace, is.
  }
  const list = layerListTar(upper);
  const [names] = await Promise.all([tarNames(list.stream as Readable), list.done]);
  return names;
}

/** The changes in the sandbox `ref`'s writable layer(s). */
export async function diffSandbox(paths: StorePaths, ref: string): Promise<Change[]> {
  const record = findSandbox(paths, ref);
  const dirs = sandboxDirs(sandboxDir(paths, record.id));
  const { root } = resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request);
  const hidden = new Set(mountPoints(record.request));
  // One writable layer over the image's layers; the `host` image: one per top-level
  // directory over the host's (or, with fuse-overlayfs, one over `/`).
  const parts: { upper: string; prefix: string; lowers: string[] }[] = [];
  if (root.kind === 'layers') {
    parts.push({ upper: dirs.upper, prefix: '', lowers: root.lowers.map((l) => (root.base && !l.startsWith('/') ? join(root.base, l) : l)) });
  } else {
    parts.push({ upper: dirs.upper, prefix: '', lowers: ['/'] });
    for (const e of root.entries) if (e.type === 'dir') parts.push({ upper: join(dirs.hostDirs, e.name, 'upper'), prefix: e.name, lowers: [join('/', e.name)] });
  }
  const out: Change[] = [];
  for (const part of parts) {
    const entries = await upperEntries(part.upper);
    out.push(...classifyChanges(entries, part.prefix, (p) => inLayers(part.lowers, part.prefix ? p.slice(part.prefix.length + 1) : p), hidden));
  }
  return out;
}
