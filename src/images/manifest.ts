/**
 * OCI image manifests and indexes (image-spec manifest.md, image-index.md) and their
 * Docker schema 2 twins (manifest, manifest list), which share the same JSON shape.
 * Parsing validates just what we rely on; platform choice follows `podman pull`:
 * the host's os/architecture (and variant where it matters), `--platform` to choose. Pure.
 */
import { SandboxError } from '../errors.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

const INDEX_TYPES: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];
const MANIFEST_TYPES: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; manifest: ImageManifest; mediaType: string }
  | { kind: 'index'; index: ImageIndex; mediaType: string };

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(why: string): SandboxError {
  return new SandboxError(`invalid image manifest: ${why}`, { hint: 'the registry or archive holds a manifest we cannot read (only schema 2 / OCI manifests are supported)' });
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (!x || typeof x !== 'object') throw invalid(`${where} is not an object`);
  if (typeof x.digest !== 'string' || !DIGEST.test(x.digest)) throw invalid(`${where} has digest ${JSON.stringify(x.digest)} (want sha256:<64 hex>)`);
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) throw invalid(`${where} has no valid size`);
  if (typeof x.mediaType !== 'string') throw invalid(`${where} has no media type`);
  return x as Descriptor;
}

/**
 * Reads a manifest or index. The media type comes from the document, else from the
 * Content-Type the registry sent, else from its shape (an OCI index may omit it).
 */
export function parseManifest(bytes: Buffer, contentType?: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('not a JSON object');
  if (doc.schemaVersion !== 2) {
    throw new SandboxError(`unsupported manifest schema version ${String(doc.schemaVersion)}`, {
      hint: 'Docker schema 1 images are deprecated; push the image again with a current Docker, Podman or skopeo',
    });
  }
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : contentType?.split(';')[0]?.trim();
  const isIndex = declared ? INDEX_TYPES.includes(declared) : Array.isArray(doc.manifests);
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalid('index without manifests');
    doc.manifests.forEach((m, i) => checkDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', index: doc as unknown as ImageIndex, mediaType: declared ?? MediaTypes.ociIndex };
  }
  if (declared && !MANIFEST_TYPES.includes(declared)) throw invalid(`media type ${declared} is neither an image manifest nor an index`);
  checkDescriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('manifest without layers');
  doc.layers.forEach((l, i) => checkDescriptor(l, `layers[${i}]`));
  return { kind: 'manifest', manifest: doc as unknown as ImageManifest, mediaType: declared ?? MediaTypes.ociManifest };
}

/** An OCI manifest for a config and layers, as the bytes to store and hash. */
export function buildManifest(config: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): Buffer {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
  return Buffer.from(JSON.stringify(manifest));
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** How a layer blob is compressed, from its media type; undefined when the type does not say. */
export function layerCompression(mediaType: string): Compression | undefined {
  if (/gzip$/.test(mediaType)) return 'gzip';
  if (/zstd$/.test(mediaType)) return 'zstd';
  if (mediaType === MediaTypes.ociLayer || mediaType.endsWith('.tar')) return 'none';
  return undefined;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = GO_ARCH[process.arch] ?? process.arch;
  // Only arm distinguishes variants in practice; arm64 images say v8 or nothing.
  if (architecture === 'arm') return { os: 'linux', architecture, variant: `v${(process.config.variables as { arm_version?: string }).arm_version ?? '7'}` };
  return { os: 'linux', architecture };
}

/** `OS/ARCH[/VARIANT]`, as `--platform linux/arm64/v8`. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/i.test(p))) {
    throw new SandboxError(`invalid platform "${text}"`, { hint: 'write it as OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8' });
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The index entry for `wanted`; a missing variant matches any, arm64's v8 matches none. */
export function choosePlatform(index: ImageIndex, wanted: Platform): Descriptor {
  const images = index.manifests.filter((m) => m.platform && MANIFEST_TYPES.concat(INDEX_TYPES).includes(m.mediaType));
  const matches = images.filter((m) => m.platform!.os === wanted.os && m.platform!.architecture === wanted.architecture);
  const variantOf = (p: Platform | undefined) => p?.variant ?? (p?.architecture === 'arm64' ? 'v8' : undefined);
  const exact = wanted.variant ? matches.filter((m) => variantOf(m.platform) === wanted.variant) : matches;
  const chosen = exact[0] ?? (wanted.variant ? matches.find((m) => !m.platform!.variant) : undefined);
  if (chosen) return chosen;
  const available = images.map((m) => formatPlatform(m.platform!));
  throw new SandboxError(`no image for ${formatPlatform(wanted)} in this manifest list`, {
    hint: available.length ? `it has ${[...new Set(available)].join(', ')}; choose one with --platform` : 'the index names no platforms',
  });
}
