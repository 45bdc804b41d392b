/**
 * `sandbox save`: images out of the store as a docker-archive (the default, as Podman's;
 * `docker load` and `podman load` read it) or an oci-archive. Layers stream from their
 * blobs into the tar and are checked on the way (blob digests; for docker-archive, whose
 * layers are plain tars, the diff ids); a file output is written beside its final name
 * and renamed there only when whole.
 */
import { statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { appendEvent } from '../state/events.js';
import { openAtomicOutput } from '../state/atomic.js';
import { blobSize, hasBlob, openBlob, readBlob, sha256 } from './blobs.js';
import { decompressStream } from './compression.js';
import { blobCompression } from './layers.js';
import { MediaTypes, type Descriptor, type ImageManifest } from './manifest.js';
import { findImageRecord, readImageIndex, readImageManifest, tagOfImage, type ImageRecord } from './store.js';
import { buildDockerManifest, configFileName, layerFileName } from './archive/docker-archive.js';
import { blobFileName, buildOciIndex, INDEX_FILE, LAYOUT_FILE, OCI_LAYOUT } from './archive/oci-archive.js';
import { TarWriter } from './archive/tar.js';

export type SaveFormat = 'docker-archive' | 'oci-archive';

export interface SaveOptions {
  format: SaveFormat;
}

/** An image to write, with everything read and checked up front. */
interface SavedImage {
  record: ImageRecord;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  configBytes: Buffer;
  /** NAME:TAG it was asked for by (none when asked for by id). */
  tags: string[];
}

/** Passes `source` through, failing at its end when its sha256 is not `digest`. */
async function* verified(source: AsyncIterable<unknown>, digest: string, what: string): AsyncGenerator<Buffer> {
  const hash = sha256();
  for await (const c of source) {
    hash.update(c as Buffer);
    yield c as Buffer;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== digest) {
    throw new SandboxError(`${what} in the store is corrupt: expected ${digest}, got ${got}`, {
      hint: 'remove the image and pull, load or import it again',
    });
  }
}

/** Resolves the references, merging those that name the same image. */
function collectImages(paths: StorePaths, references: string[]): SavedImage[] {
  const index = readImageIndex(paths);
  const byId = new Map<string, SavedImage>();
  for (const reference of references) {
    const record = findImageRecord(index, reference);
    const id = record.id;
    const tag = tagOfImage(index, id, reference);
    const isTag = tag !== undefined;
    const known = byId.get(id);
    if (known) {
      if (isTag && !known.tags.includes(tag!)) known.tags.push(tag!);
      continue;
    }
    const manifest = readImageManifest(paths, record);
    for (const l of manifest.layers) {
      if (!hasBlob(paths, l.digest)) {
        throw new SandboxError(`layer blob ${l.digest} of ${reference} is missing from the store`, { hint: 'pull, load or import the image again' });
      }
    }
    byId.set(id, {
      record,
      manifest,
      manifestBytes: readBlob(paths, record.manifestDigest!),
      configBytes: readBlob(paths, record.id),
      tags: isTag ? [tag!] : [],
    });
  }
  return [...byId.values()];
}

/** A layer as the plain tar whose sha256 is its diff id, and that tar's size. */
async function plainLayer(paths: StorePaths, layer: Descriptor, diffId: string): Promise<{ size: number; open: () => Readable | AsyncIterable<Buffer> }> {
  const compression = blobCompression(paths, layer);
  if (compression === 'none') {
    return { size: blobSize(paths, layer.digest), open: () => verified(openBlob(paths, layer.digest), diffId, `layer ${diffId}`) };
  }
  // A tar entry states its size first: one pass to measure (and check) the plain tar,
  // a second to write it, rather than holding gigabytes or a temporary copy.
  const hash = sha256();
  let size = 0;
  for await (const c of decompressStream(openBlob(paths, layer.digest), compression)) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== diffId) {
    throw new SandboxError(`layer ${diffId} in the store is corrupt: its blob unpacks to ${got}`, { hint: 'remove the image and pull, load or import it again' });
  }
  return { size, open: () => verified(decompressStream(openBlob(paths, layer.digest), compression), diffId, `layer ${diffId}`) };
}

async function writeDockerArchive(paths: StorePaths, images: SavedImage[], tar: TarWriter): Promise<void> {
  const written = new Set<string>();
  for (const image of images) {
    for (const [i, layer] of image.manifest.layers.entries()) {
      const diffId = image.record.layers[i]!;
      if (written.has(diffId)) continue;
      written.add(diffId);
      const plain = await plainLayer(paths, layer, diffId);
      await tar.addStream(layerFileName(diffId), plain.size, plain.open());
    }
    await tar.addBytes(configFileName(image.record.id), image.configBytes);
  }
  await tar.addBytes('manifest.json', buildDockerManifest(images.map((im) => ({ id: im.record.id, repoTags: im.tags, diffIds: im.record.layers }))));
}

async function writeOciArchive(paths: StorePaths, images: SavedImage[], tar: TarWriter): Promise<void> {
  await tar.addBytes(LAYOUT_FILE, OCI_LAYOUT);
  const written = new Set<string>();
  const addBlob = async (digest: string, bytes?: Buffer) => {
    if (written.has(digest)) return;
    written.add(digest);
    if (bytes) await tar.addBytes(blobFileName(digest), bytes);
    else await tar.addStream(blobFileName(digest), blobSize(paths, digest), verified(openBlob(paths, digest), digest, `blob ${digest}`));
  };
  const entries: { manifest: Descriptor; name?: string }[] = [];
  for (const image of images) {
    for (const layer of image.manifest.layers) await addBlob(layer.digest);
    await addBlob(image.record.id, image.configBytes);
    await addBlob(image.record.manifestDigest!, image.manifestBytes);
    const manifest: Descriptor = {
      mediaType: image.manifest.mediaType ?? MediaTypes.ociManifest,
      digest: image.record.manifestDigest!,
      size: image.manifestBytes.length,
    };
    if (image.tags.length === 0) entries.push({ manifest });
    for (const name of image.tags) entries.push({ manifest, name });
  }
  await tar.addBytes(INDEX_FILE, buildOciIndex(entries));
}

/** Opens the output: a stream as given, or a temporary file renamed into place by `commit`. */
/** A file output (`-o`) is written beside its name and renamed only when whole; a stream is written as it is. */
function openOutput(output: Writable | string): { stream: Writable; commit: () => Promise<void>; discard: () => void } {
  if (typeof output !== 'string') return { stream: output, commit: async () => {}, discard: () => {} };
  try {
    if (statSync(output).isDirectory()) throw new SandboxError(`${output} is a directory`, { hint: 'give -o the path of the archive file to write' });
  } catch (err) {
    if (err instanceof SandboxError) throw err;
  }
  return openAtomicOutput(output);
}

/** Writes `images` (names or ids) as one archive to `output` (a path or a stream such as stdout). */
export async function saveImages(paths: StorePaths, images: string[], output: Writable | string, options: SaveOptions): Promise<void> {
  if (images.length === 0) throw new SandboxError('no image to save', { hint: 'name one or more images: sandbox save -o FILE IMAGE...' });
  const saved = collectImages(paths, images); // every image found and readable before a byte is written
  const out = openOutput(output);
  const tar = new TarWriter(out.stream);
  try {
    if (options.format === 'docker-archive') await writeDockerArchive(paths, saved, tar);
    else await writeOciArchive(paths, saved, tar);
    await tar.finish();
    await out.commit();
    for (const s of saved) appendEvent(paths, { type: 'image', action: 'save', id: s.record.id });
  } catch (err) {
    tar.abort(err as Error);
    out.discard();
    if (err instanceof SandboxError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot write the archive${typeof output === 'string' ? ` ${output}` : ''}: ${code ?? (err as Error).message}`, {
      hint: code === 'EPIPE' ? 'the reader of the output went away' : 'check the destination is writable',
      cause: err,
    });
  }
}
