/**
 * The oci-archive format: a tar of an OCI image layout (image-spec image-layout.md):
 * `oci-layout`, `index.json` and the blobs under `blobs/sha256/<hex>`. The index names
 * images by annotation: `org.opencontainers.image.ref.name` (a full NAME:TAG as Podman
 * and skopeo write it, or just a tag as the spec's examples and Docker do) and
 * `io.containerd.image.name` (the full name, from Docker and containerd). Pure.
 */
import { SandboxError } from '../../errors.js';
import { MediaTypes, type Descriptor } from '../manifest.js';
import { normaliseTag } from './docker-archive.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';
export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const OCI_LAYOUT = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));

function corrupt(why: string): SandboxError {
  return new SandboxError(`invalid oci-archive: ${why}`, {
    hint: 'the archive is damaged or is no OCI image layout; write it again (`podman save --format oci-archive`)',
  });
}

/** Checks the `oci-layout` file: version 1.x. */
export function checkOciLayout(bytes: Buffer): void {
  let doc: { imageLayoutVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw corrupt('oci-layout is not JSON');
  }
  if (typeof doc?.imageLayoutVersion !== 'string' || !/^1\./.test(doc.imageLayoutVersion)) {
    throw corrupt(`unsupported image layout version ${JSON.stringify(doc?.imageLayoutVersion)}`);
  }
}

/** Where a blob lives in a layout. */
export function blobFileName(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw corrupt(`unsupported digest ${JSON.stringify(digest)} (only sha256)`);
  return `blobs/sha256/${m[1]}`;
}

/** The digest a layout path claims (`blobs/sha256/<hex>`), if it is a blob's path. */
export function digestOfBlobFile(path: string): string | undefined {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
  return m ? `sha256:${m[1]}` : undefined;
}

/**
 * The NAME:TAG an index entry gives its image, normalised; undefined when it gives none.
 * A ref.name without `/` or `:` is only a tag (the spec's "v1.0", Docker's "latest"):
 * with no name beside it, it names nothing we can store.
 */
export function imageNameOf(descriptor: Pick<Descriptor, 'annotations'>): string | undefined {
  const a = descriptor.annotations ?? {};
  const full = a[CONTAINERD_NAME];
  if (full) return normaliseTag(full);
  const ref = a[REF_NAME];
  if (!ref || !/[/:]/.test(ref)) return undefined;
  return normaliseTag(ref);
}

/** index.json for the images written, each named by a full ref.name, as Podman writes. */
export function buildOciIndex(images: { manifest: Descriptor; name?: string }[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: images.map(({ manifest, name }) => ({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.size,
      ...(name ? { annotations: { [REF_NAME]: name } } : {}),
    })),
  }));
}
