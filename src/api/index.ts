/**
 * The typed library API. The CLI is one of its users; tests are another.
 *
 *   import { openStore, runRequest, run } from 'sandbox';
 *   const store = openStore({ root: '/tmp/my-test-store' });        // or XDG defaults
 *   const { exitCode } = await run(store, runRequest('host', ['sh', '-c', 'id -u'], { network: 'none' }));
 */
import { homedir } from 'node:os';
import type { RunRequest } from './types.js';
import { resolveStorePaths, type StorePaths } from '../state/paths.js';

export * from './types.js';
export { SandboxError } from '../errors.js';
export type { StorePaths } from '../state/paths.js';
export { runForeground as run, HOST_IMAGE, type RunOutcome, type RunHooks } from './run.js';
export { importTarball, type ImportOptions } from '../images/import.js';
export { runDoctor, type DoctorReport } from '../doctor/index.js';

/** Where a store lives: `root` moves all of it (as `--root`), else SANDBOX_ROOT, else XDG. */
export function openStore(options: { root?: string; env?: NodeJS.ProcessEnv } = {}): StorePaths {
  const env = options.env ?? process.env;
  return resolveStorePaths({ env, uid: process.getuid?.() ?? 0, home: env.HOME || homedir(), rootOverride: options.root });
}

/** A RunRequest with the CLI's defaults (`--rm`, no terminal, slirp4netns), changed by `overrides`. */
export function runRequest(image: string, command: string[] = [], overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    image, command, remove: true, detach: false, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
    readOnly: false, network: 'slirp4netns', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {},
    ...overrides,
  };
}
