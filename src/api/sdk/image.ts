/**
 * Images from code, by the store functions the CLI's `pull`, `import`, `images` and `rmi`
 * call. Each takes the store's `root` (default as the CLI).
 */
import { SandboxError } from '../../errors.js';
import { pullImage } from '../../images/pull.js';
import { importTarball } from '../../images/import.js';
import { listImages, removeImages, type ImageSummary } from '../images.js';
import { openStore } from './store.js';

async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof SandboxError ? err : new SandboxError(String((err as Error)?.message ?? err), { code: 'internal', cause: err });
  }
}

export const Image = {
  /** Pulls `reference` from its registry (as `sandbox pull`); returns the image id. */
  pull(reference: string, options: { root?: string; platform?: string; tlsVerify?: boolean } = {}): Promise<string> {
    return guarded(() => pullImage(openStore({ root: options.root }), reference, {
      quiet: true, ...(options.platform ? { platform: options.platform } : {}), ...(options.tlsVerify !== undefined ? { tlsVerify: options.tlsVerify } : {}),
    }));
  },
  /** Imports a tar of a root filesystem as the image `reference` (as `sandbox import`); returns its id. */
  import(tarball: string, reference: string, options: { root?: string; changes?: string[]; message?: string } = {}): Promise<string> {
    return guarded(() => importTarball(openStore({ root: options.root }), tarball, reference, {
      ...(options.changes ? { changes: options.changes } : {}), ...(options.message ? { message: options.message } : {}),
    }));
  },
  /** The images of the store (as `sandbox images`). */
  list(options: { root?: string } = {}): Promise<ImageSummary[]> {
    return guarded(() => listImages(openStore({ root: options.root })));
  },
  /** Removes images (as `sandbox rmi`); `force` also removes them from under stopped sandboxes. */
  async remove(references: string | string[], options: { root?: string; force?: boolean } = {}): Promise<void> {
    await guarded(() => removeImages(openStore({ root: options.root }), Array.isArray(references) ? references : [references], { force: !!options.force }));
  },
};
