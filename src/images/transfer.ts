/**
 * Moving images in and out of the store: registries (pull, push, a client for login)
 * and archives (load, save). Bundled on its own (dist/images.cjs) and loaded only by the
 * commands that need it (see lazy-transfer.ts): it is a fifth of the CLI's code, and
 * every other command, `run` above all, would otherwise pay for loading it.
 */
export { pullImage } from './pull.js';
export { pushImage } from './push.js';
export { loadArchive } from './load.js';
export { saveImages } from './save.js';
export { RegistryClient } from './registry/client.js';
// `diff` reads the list of a writable layer's changes as a tar (sandbox-layer list).
export { readTar } from './archive/tar.js';
