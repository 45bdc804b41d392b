/**
 * `sandbox push IMAGE [DEST]`: an image of the store to a registry. Each blob (config
 * and layers, several at once) is first asked for with HEAD and skipped when the
 * registry has it; one the image was pulled with from another repository of the same
 * registry is mounted from there instead of uploaded; the rest are uploaded from the
 * store as they are, so digests stay the same. The manifest goes last, byte for byte.
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { blobSize, digestOf, hasBlob, openBlob, readBlob, sha256 } from './blobs.js';
import { parseManifest } from './manifest.js';
import { resolveImage } from './store.js';
import { appendEvent } from '../state/events.js';
import { limiter } from './registry/limit.js';
import { silentProgress, type ProgressSink } from './registry/progress.js';
import { displayRef, registryRef } from './registry/reference.js';
import { openRepository } from './registry/session.js';

export interface PushOptions {
  tlsVerify?: boolean | undefined;
  quiet?: boolean | undefined;
  progress?: ProgressSink | undefined;
  authFile?: string | undefined;
}

const PARALLEL_UPLOADS = 4;

/** Pushes `image` (a name or id in the store) to `dest` (default: its own name); returns the manifest digest. */
export async function pushImage(paths: StorePaths, image: string, dest?: string, options: PushOptions = {}): Promise<string> {
  const progress = options.quiet ? silentProgress : options.progress ?? silentProgress;
  try {
    const { record } = resolveImage(paths, image);
    const target = (dest ?? image).replace(/^docker:\/\//, '');
    if (!dest && record.id.slice(7).startsWith(image.replace(/^sha256:/, ''))) {
      throw new SandboxError(`push of image ${image} by its id needs a destination`, { hint: `give one: sandbox push ${image} HOST[:PORT]/NAME[:TAG]` });
    }
    if (!record.manifestDigest) {
      throw new SandboxError(`image ${image} has no manifest to push`, { hint: 'it was imported by an older sandbox; import or pull it again' });
    }
    const manifestBytes = readBlob(paths, record.manifestDigest);
    const parsed = parseManifest(manifestBytes);
    if (parsed.kind !== 'manifest') throw new SandboxError(`stored manifest ${record.manifestDigest} is an index`);
    const { manifest, mediaType } = parsed;
    const { ref, client } = openRepository(target, ['pull', 'push'], options);
    progress.note(`Pushing ${displayRef(ref)} to ${ref.registry}`);

    // Repositories of the same registry the image came from: blobs there can be mounted.
    const mountFrom = (record.repoDigests ?? [])
      .map((rd) => { try { return registryRef(rd); } catch { return undefined; } })
      .find((r) => r && r.registry === ref.registry && r.repository !== ref.repository)?.repository;

    const blobs = [manifest.config, ...manifest.layers].filter((d, i, all) => all.findIndex((x) => x.digest === d.digest) === i);
    for (const b of blobs) {
      if (!hasBlob(paths, b.digest)) throw new SandboxError(`blob ${b.digest} of image ${image} is missing from the store`, { hint: 'pull or load the image again' });
    }
    const upload = limiter(PARALLEL_UPLOADS);
    const results = await Promise.allSettled(blobs.map((b) => upload(async () => {
      const what = b.digest === manifest.config.digest ? 'config' : 'layer';
      const size = blobSize(paths, b.digest);
      progress.start(b.digest, what, size);
      if (await client.hasBlob(b.digest)) { progress.status(b.digest, 'skipped'); return; }
      if (mountFrom && (await client.mountBlob(b.digest, mountFrom))) { progress.status(b.digest, 'mounted'); return; }
      let sent = 0;
      // Hashed on the way out: a blob damaged on our disk is told apart from a registry problem.
      let hash = sha256();
      try {
        await client.uploadBlob(b.digest, size, () => {
          progress.advance(b.digest, -sent);
          sent = 0;
          hash = sha256();
          const stream = openBlob(paths, b.digest);
          stream.on('data', (c: Buffer) => { sent += c.length; hash.update(c); progress.advance(b.digest, c.length); });
          return stream;
        });
      } catch (err) {
        if (sent === size && `sha256:${hash.digest('hex')}` !== b.digest) {
          throw new SandboxError(`stored blob ${b.digest} of image ${image} is corrupt: its content no longer matches its digest`, {
            hint: 'run `sandbox system check --verify --repair`, then pull or load the image again',
          });
        }
        throw err;
      }
      progress.status(b.digest, 'pushed');
    })));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    const digest = digestOf(manifestBytes);
    await client.putManifest(ref.digest ?? ref.tag, manifestBytes, mediaType);
    progress.note(`Pushed ${displayRef(ref)}: ${digest}`);
    appendEvent(paths, { type: 'image', action: 'push', id: record.id, name: displayRef(ref), attributes: { digest } });
    return digest;
  } finally {
    progress.end();
  }
}
