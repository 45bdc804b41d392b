/** Which store a library call works on: no global state, each call names its root (or takes the CLI's default). */
import { homedir } from 'node:os';
import { realStorePaths, resolveStorePaths, type StorePaths } from '../../state/paths.js';

/** Where a store lives: `root` moves all of it (as `--root`), else SANDBOX_ROOT, else XDG. */
export function openStore(options: { root?: string | undefined; env?: NodeJS.ProcessEnv } = {}): StorePaths {
  const env = options.env ?? process.env;
  return realStorePaths(resolveStorePaths({
    env, uid: process.getuid?.() ?? 0, home: env.HOME || homedir(), ...(options.root !== undefined ? { rootOverride: options.root } : {}),
  }));
}
