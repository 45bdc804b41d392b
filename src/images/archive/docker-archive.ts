/**
 * The docker-archive format, as `docker save` and `podman save` write it: a tar whose
 * manifest.json lists, per image, its config file, its tags and its layer tars (lowest
 * first), and, in archives of old Dockers, a `repositories` file naming the top layer of
 * each tag. Parsing and building of those two documents; pure.
 */
import { SandboxError } from '../../errors.js';
import { formatImageRef, parseImageRef } from '../refs.js';
import { archivePath } from './tar.js';

export interface DockerArchiveImage {
  /** Archive path of the config JSON. */
  config: string;
  /** Normalised NAME:TAG references (possibly none). */
  repoTags: string[];
  /** Archive paths of the layer tars, lowest first. */
  layers: string[];
}

function corrupt(why: string): SandboxError {
  return new SandboxError(`invalid docker-archive: ${why}`, {
    hint: 'the archive is damaged or was not written by `docker save`/`podman save`; write it again',
  });
}

/** A tag as written in RepoTags or `repositories`, normalised as our store keys it. */
export function normaliseTag(tag: string): string {
  let ref;
  try {
    ref = parseImageRef(tag);
  } catch {
    throw corrupt(`invalid image name ${JSON.stringify(tag)} in the archive`);
  }
  if (ref.digest) throw corrupt(`a digest reference ${JSON.stringify(tag)} is no tag`);
  return formatImageRef(ref);
}

function path(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw corrupt(`${where} is not a file name`);
  const p = archivePath(value);
  if (!p) throw corrupt(`${where} ${JSON.stringify(value)} points outside the archive`);
  return p;
}

/** Reads manifest.json: one entry per image. */
export function parseDockerManifest(bytes: Buffer): DockerArchiveImage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('manifest.json is not JSON');
  }
  if (!Array.isArray(doc)) throw corrupt('manifest.json is not a list of images');
  if (doc.length === 0) throw corrupt('manifest.json lists no image');
  return doc.map((item: unknown, i) => {
    const e = item as { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null;
    if (!e || typeof e !== 'object') throw corrupt(`manifest.json entry ${i} is not an object`);
    if (e.RepoTags != null && !(Array.isArray(e.RepoTags) && e.RepoTags.every((t) => typeof t === 'string'))) {
      throw corrupt(`RepoTags of manifest.json entry ${i} is not a list of names`);
    }
    if (!Array.isArray(e.Layers)) throw corrupt(`manifest.json entry ${i} has no Layers list`);
    return {
      config: path(e.Config, `Config of manifest.json entry ${i}`),
      repoTags: [...new Set(((e.RepoTags as string[] | null) ?? []).map(normaliseTag))],
      layers: e.Layers.map((l: unknown, j: number) => path(l, `Layers[${j}] of manifest.json entry ${i}`)),
    };
  });
}

/**
 * Reads the legacy `repositories` file ({"NAME": {"TAG": "TOP-LAYER-ID"}}): the tags of
 * each top layer id. Unreadable content is ignored, as Docker does: manifest.json rules.
 */
export function parseRepositories(bytes: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return out;
  }
  if (!doc || typeof doc !== 'object') return out;
  for (const [name, tags] of Object.entries(doc as Record<string, unknown>)) {
    if (!tags || typeof tags !== 'object') continue;
    for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
      if (typeof id !== 'string') continue;
      let ref: string;
      try { ref = normaliseTag(`${name}:${tag}`); } catch { continue; }
      out.set(id, [...(out.get(id) ?? []), ref]);
    }
  }
  return out;
}

/**
 * An image's tags: its RepoTags, else (old archives without them) the `repositories`
 * tags of its top layer, whose v1 id is the directory of `<id>/layer.tar`.
 */
export function imageTags(image: DockerArchiveImage, repositories: Map<string, string[]>): string[] {
  if (image.repoTags.length) return image.repoTags;
  const top = image.layers[image.layers.length - 1];
  const dir = top && top.includes('/') ? top.slice(0, top.indexOf('/')) : undefined;
  return dir ? repositories.get(dir) ?? [] : [];
}

/** A config name of the form `<64 hex>.json` or `blobs/sha256/<hex>` claims that digest. */
export function claimedDigest(path: string): string | undefined {
  const m = /^(?:blobs\/sha256\/([a-f0-9]{64})|([a-f0-9]{64})\.json)$/.exec(path);
  return m ? `sha256:${m[1] ?? m[2]}` : undefined;
}

function hexOf(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

/** Archive path of a config in what we write (as podman: `<id hex>.json`). */
export function configFileName(imageId: string): string {
  return `${hexOf(imageId)}.json`;
}

/** Archive path of a layer tar in what we write (as podman: `<diff id hex>.tar`). */
export function layerFileName(diffId: string): string {
  return `${hexOf(diffId)}.tar`;
}

/** manifest.json for the images written (RepoTags null when untagged, as Docker writes). */
export function buildDockerManifest(images: { id: string; repoTags: string[]; diffIds: string[] }[]): Buffer {
  return Buffer.from(JSON.stringify(images.map((im) => ({
    Config: configFileName(im.id),
    RepoTags: im.repoTags.length ? im.repoTags : null,
    Layers: im.diffIds.map(layerFileName),
  }))));
}
