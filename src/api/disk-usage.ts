/**
 * `system df`: what uses space in the store, by kind (images, sandboxes, volumes), and
 * how much of it nothing uses. Sizes come from runtime/tree-size.ts, which measures what
 * subordinate ids own as root of the user's namespace.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { sandboxDir } from '../state/sandbox-dir.js';
import { imageIndexBackupPath, imageIndexPath, readImageIndex, tagsOf } from '../images/store.js';
import { treeSizes } from '../runtime/tree-size.js';
import { listVolumeNames, volumeDir, volumesOfRequest } from '../state/volumes.js';
import { listSandboxes } from './lifecycle.js';

function dirEntries(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** `system df -v`: each image, sandbox and volume (Podman's verbose tables). */
export interface DiskUsageDetails {
  images: { id: string; names: string[]; created: string; size: number; sharedSize: number; uniqueSize: number; sandboxes: number }[];
  sandboxes: { id: string; name: string; imageId: string; command: string[]; volumes: number; size: number; created: string; status: string }[];
  volumes: { name: string; links: number; size: number }[];
}

export interface DiskUsageRow {
  type: 'images' | 'sandboxes' | 'volumes';
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** `system df`: images (layers, configs, index), sandboxes (writable layers, logs), volumes. */
export async function diskUsage(paths: StorePaths): Promise<DiskUsageRow[]>;
export async function diskUsage(paths: StorePaths, options: { details: true }): Promise<{ rows: DiskUsageRow[]; details: DiskUsageDetails }>;
export async function diskUsage(paths: StorePaths, options: { details?: boolean } = {}): Promise<DiskUsageRow[] | { rows: DiskUsageRow[]; details: DiskUsageDetails }> {
  const views = listSandboxes(paths, { all: true });
  const index = readImageIndex(paths);
  const images: Record<string, { layers?: string[]; created?: string }> = index.images;
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
  const rows: DiskUsageRow[] = [
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
  if (!options.details) return rows;

  // Per item, from the same measurements: a layer is an image's own unless another image has it too.
  const layerSize = (l: string) => sizes.get(join(layersDir, l.replace(/^sha256:/, ''))) ?? 0;
  const holders = new Map<string, number>();
  for (const r of Object.values(images)) for (const l of new Set(r.layers ?? [])) holders.set(l, (holders.get(l) ?? 0) + 1);
  const volumeLinks = new Map<string, number>();
  for (const v of views) for (const n of new Set(volumesOfRequest(paths, v.record.request))) volumeLinks.set(n, (volumeLinks.get(n) ?? 0) + 1);
  const details: DiskUsageDetails = {
    images: Object.entries(images).map(([id, r]) => {
      const layers = [...new Set(r.layers ?? [])];
      const size = layers.reduce((a, l) => a + layerSize(l), 0);
      const uniqueSize = layers.filter((l) => holders.get(l) === 1).reduce((a, l) => a + layerSize(l), 0);
      return {
        id, names: tagsOf(index, id), created: r.created ?? '', size, sharedSize: size - uniqueSize, uniqueSize,
        sandboxes: views.filter((v) => v.record.imageId === id).length,
      };
    }),
    sandboxes: views.map((v) => ({
      id: v.record.id, name: v.record.name, imageId: v.record.imageId ?? v.record.image, command: v.record.command,
      volumes: volumesOfRequest(paths, v.record.request).length, size: sizes.get(sandboxDir(paths, v.record.id)) ?? 0,
      created: v.record.created, status: v.state.status,
    })),
    volumes: volumeNames.map((n) => ({ name: n, links: volumeLinks.get(n) ?? 0, size: sizes.get(volumeDir(paths, n)) ?? 0 })),
  };
  return { rows, details };
}
