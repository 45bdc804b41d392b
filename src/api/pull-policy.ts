/**
 * `run --pull missing|always|never|newer`: before a sandbox is recorded, its image is pulled
 * from its registry when the policy asks (the default pulls only a missing image, as
 * Podman and Docker do). `host`, `--rootfs` and image ids never pull. `newer` pulls
 * as `always` does (the pull fetches only what differs: an unchanged digest costs one
 * manifest request) and, as Podman, keeps the local image when that pull fails.
 */
import { HOST_IMAGE, type RunRequest } from '../types.js';
import { SandboxError } from '../errors.js';
import { transfer } from '../images/lazy-transfer.js';
import type { StorePaths } from '../state/paths.js';
import { findImageId, readImageIndex } from '../images/store.js';
import type { ProgressSink } from '../images/registry/progress.js';

function isImageId(reference: string): boolean {
  return /^(sha256:)?[a-f0-9]{12,64}$/.test(reference);
}

/** Pulls the request's image when its pull policy says so; returns whether it pulled. */
export async function pullForRun(paths: StorePaths, request: RunRequest, progress?: ProgressSink): Promise<boolean> {
  if (request.rootfs || request.image === HOST_IMAGE) return false;
  const policy = request.pull ?? 'missing';
  if (policy === 'never') return false;
  const local = findImageId(readImageIndex(paths), request.image);
  if (policy === 'missing') {
    if (local) return false;
    if (isImageId(request.image)) return false; // an id cannot be pulled; run reports it missing
  }
  if (policy === 'newer' && isImageId(request.image)) return false;
  // Loaded only when a pull happens: the registry client is not on run's fast path.
  const { pullImage } = transfer();
  try {
    await pullImage(paths, request.image, {
      ...(request.platform ? { platform: request.platform } : {}),
      ...(request.tlsVerify !== undefined ? { tlsVerify: request.tlsVerify } : {}),
      ...(request.quiet ? { quiet: true } : {}),
      ...(progress ? { progress } : {}),
    });
  } catch (err) {
    if (policy === 'newer' && local && err instanceof SandboxError) return false; // Podman: errors suppressed when a local image exists
    if (policy !== 'missing' || !(err instanceof SandboxError)) throw err;
    // Most often a typo or an image that only exists elsewhere: say both things at once.
    throw new SandboxError(`image "${request.image}" is not in the store, and pulling it failed: ${err.message}`, {
      hint: `${err.hint ? `${err.hint}; or ` : ''}import or load it (\`sandbox images\` lists what you have); --pull never does not try registries`,
      code: 'no-such-image',
      cause: err, // a full disk is reported as such (errors.ts reportedError), not as a missing image
    });
  }
  return true;
}
