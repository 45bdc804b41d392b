/**
 * `system df`: what uses space in the store, by kind (images, sandboxes, volumes), and
 * how much of it nothing uses. Sizes come from runtime/tree-size.ts, which measures what
 * subordinate ids own as root of the user's namespace.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { sandboxDir } from '../state/sandbox-dir.js';
import { imageIndexBackupPath, imageIndexPath, readImageIndex } from '../images/store.js';
import { treeSizes } from '../runtime/tree-size.js';
import { listVolumeNames, volumeDir, volumesOfRequest } from '../state/volumes.js';
import { listSandboxes } from './lifecycle.js';

function dirEntries(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

export interface DiskUsageRow {
  type: 'images' | 'sandboxes' | 'volumes';
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** `system df`: images (layers, configs, index), sandboxes (writable layers, logs), volumes. */
export async function diskUsage(paths: StorePaths): Promise<DiskUsageRow[]> {
  const views = listSandboxes(paths, { all: true });
  const images: Record<string, { layers?: string[] }> = readImageIndex(paths).images;
  const usedImages = new Set(views.map((v) => v.record.imageId).filter((x): x is string => !!x));
  const usedLayers = new Set<string>();
  for (const id of usedImages) for (const l of images[id]?.layers ?? []) usedLayers.add(l.replace(/^sha256:/, ''));

  const layersDir = join(paths.data, 'layers');
  const layerDirs = dirEntries(layersDir).filter((e) => /^[a-f0-9]{64}$/.test(e)).map((e) => join(layersDir, e));
  const imageFiles = [join(paths.data, 'blobs'), imageIndexPath(paths), imageIndexBackupPath(paths)];
  const sandboxDirs = views.map((v) => sandboxDir(paths, v.record.id));
  const volumeNames = listVolumeNames(paths);
  const volumeDirs = volumeNames.map((n) => volumeDir(paths, n));
  // Sandboxes first: a file a sandbox shares with a layer (none today) is the sandbox's.
  const sizes = await treeSizes([...sandboxDirs, ...layerDirs, ...imageFiles, ...volumeDirs]);
  const sum = (xs: string[]) => xs.reduce((a, x) => a + (sizes.get(x) ?? 0), 0);

  const usedVolumes = new Set<string>();
  for (const v of views) for (const n of volumesOfRequest(paths, v.record.request)) usedVolumes.add(n);

  const running = views.filter((v) => v.state.status === 'running');
  return [
    {
      type: 'images', total: Object.keys(images).length, active: [...usedImages].filter((i) => images[i]).length,
      size: sum(layerDirs) + sum(imageFiles),
      reclaimable: sum(layerDirs.filter((d) => !usedLayers.has(d.slice(layersDir.length + 1)))),
    },
    {
      type: 'sandboxes', total: views.length, active: running.length,
      size: sum(sandboxDirs),
      reclaimable: sum(views.filter((v) => v.state.status !== 'running').map((v) => sandboxDir(paths, v.record.id))),
    },
    {
      type: 'volumes', total: volumeNames.length, active: volumeNames.filter((n) => usedVolumes.has(n)).length,
      size: sum(volumeDirs),
      reclaimable: sum(volumeNames.filter((n) => !usedVolumes.has(n)).map((n) => volumeDir(paths, n))),
    },
  ];
}
