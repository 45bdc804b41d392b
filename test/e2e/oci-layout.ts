/**
 * OCI image layouts (image-spec image-layout.md) built on disk from layer tars, for
 * `skopeo copy oci:DIR:TAG docker://...`: layer blobs gzip-, zstd- or not compressed,
 * a config whose rootfs.diff_ids are the sha256 of the uncompressed tars, a manifest,
 * and for several platforms an image index; index.json names the top one with the tag.
 *
 *   const img = await writeOciLayout(dir, 'v1', [{ layers: [{ tar, compression: 'gzip' }] }]);
 *   img.digest  // the manifest's (or the index's) digest
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, constants as zlibConstants } from 'node:zlib';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  /** An uncompressed tar archive (see layer-tar.ts). */
  tar: Buffer;
  compression: LayerCompression;
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** Default: linux and the architecture Go would name this machine's. */
  platform?: PlatformSpec;
  /** The `config` part of the image config (Env, Cmd, Labels, ...). */
  config?: Record<string, unknown>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: PlatformSpec;
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
}

export interface BuiltLayout {
  /** What index.json tags: the manifest of a single image, or the index of several. */
  top: Descriptor;
  images: BuiltImage[];
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatformSpec(): PlatformSpec {
  return { os: 'linux', architecture: GO_ARCH[process.arch] ?? process.arch };
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function compress(tar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'none') return tar;
  if (compression === 'gzip') return gzipSync(tar, { level: zlibConstants.Z_BEST_SPEED });
  const r = spawnSync('zstd', ['-q', '-c', '-3', '-T0'], { input: tar, maxBuffer: 4 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

const LAYER_TYPES: Record<LayerCompression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

async function putBlob(dir: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256(bytes);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}

async function writeImage(dir: string, spec: ImageSpec): Promise<BuiltImage> {
  const platform = spec.platform ?? hostPlatformSpec();
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of spec.layers) {
    diffIds.push(sha256(l.tar));
    layers.push(await putBlob(dir, compress(l.tar, l.compression), LAYER_TYPES[l.compression]));
  }
  const config = {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...spec.config },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'sandbox e2e oci-layout.ts' })),
  };
  const configDesc = await putBlob(dir, Buffer.from(JSON.stringify(config)), 'application/vnd.oci.image.config.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers,
  };
  const manifestDesc = await putBlob(dir, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
  return { manifest: { ...manifestDesc, platform }, config: configDesc, layers, diffIds };
}

/**
 * Adds an image (one spec) or a multi-platform image (several, or `forceIndex`) to the
 * layout in `dir` under `tag`; other tags already there stay.
 */
export async function writeOciLayout(dir: string, tag: string, specs: ImageSpec[], options: { forceIndex?: boolean } = {}): Promise<BuiltLayout> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const images: BuiltImage[] = [];
  for (const spec of specs) images.push(await writeImage(dir, spec));
  let top: Descriptor;
  if (images.length === 1 && !options.forceIndex) {
    const { platform: _p, ...m } = images[0]!.manifest;
    top = m;
  } else {
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: images.map((i) => i.manifest) };
    top = await putBlob(dir, Buffer.from(JSON.stringify(index)), index.mediaType);
  }
  let outer: { schemaVersion: number; manifests: Descriptor[] } = { schemaVersion: 2, manifests: [] };
  try {
    outer = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as typeof outer;
  } catch { /* a new layout */ }
  outer.manifests = outer.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  outer.manifests.push({ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } });
  await writeFile(join(dir, 'index.json'), JSON.stringify({ ...outer, mediaType: 'application/vnd.oci.image.index.v1+json' }));
  return { top, images };
}
