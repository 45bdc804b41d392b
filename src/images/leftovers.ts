/**
 * What killed pulls, loads, imports and commits leave in the image store: temporary
 * blob files (<data>/blobs/tmp/<pid>-...) and layer staging directories
 * (<data>/layers/.<what>-<pid>-...). Both carry the pid of the process that made them,
 * so one whose process is gone is a leftover at once; a name without a pid (made by an
 * older version) only once it is older than `graceMs`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { processStartTime } from '../state/liveness.js';
import { blobTempDir } from './blobs.js';
import { isStagingName, layersDir } from './layers.js';

export interface Leftover {
  path: string;
  kind: 'blob-temp' | 'layer-staging';
}

function names(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function isLeftover(name: string, path: string, graceMs: number, now = Date.now()): boolean {
  const pid = Number(/^\.?[a-z]*-?([0-9]+)-/.exec(name)?.[1]);
  if (pid > 0) return processStartTime(pid) === undefined;
  try { return now - statSync(path).mtimeMs > graceMs; } catch { return false; }
}

export function imageStoreLeftovers(paths: StorePaths, graceMs: number, now = Date.now()): Leftover[] {
  const out: Leftover[] = [];
  for (const n of names(blobTempDir(paths))) {
    const path = join(blobTempDir(paths), n);
    if (isLeftover(n, path, graceMs, now)) out.push({ path, kind: 'blob-temp' });
  }
  for (const n of names(layersDir(paths)).filter(isStagingName)) {
    const path = join(layersDir(paths), n);
    if (isLeftover(n, path, graceMs, now)) out.push({ path, kind: 'layer-staging' });
  }
  return out;
}
