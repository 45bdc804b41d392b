/**
 * Paths in `run` options: host paths (relative to the caller's cwd, `~` expanded) and
 * paths inside the sandbox (absolute, normalised), both within the kernel's limits. Pure;
 * shared by run-request.ts (-v, --tmpfs, -w, --rootfs) and mount-option.ts (--mount).
 */
import { posix } from 'node:path';
import { SandboxError } from '../errors.js';
import { checkPathLimits } from '../runtime/limits.js';

/** What a host path is resolved against: the caller's environment (HOME) and cwd. */
export interface PathContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

function expandHome(path: string, ctx: PathContext, what: string): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  const home = ctx.env.HOME;
  if (!home) throw new SandboxError(`cannot expand "~" in ${what}: HOME is not set`, { hint: 'give an absolute path instead' });
  return home + path.slice(1);
}

/** An absolute host path: `path` relative to ctx.cwd, `~` expanded. */
export function hostPath(path: string, ctx: PathContext, what: string): string {
  const resolved = posix.resolve(ctx.cwd, expandHome(path, ctx, what));
  checkPathLimits(resolved, `host path of ${what.split(' ')[0]}`, 'give a shorter path');
  return resolved;
}

/** An absolute path inside the sandbox, normalised (no trailing slash, no `.`/`..`). */
export function containerPath(path: string, what: string, hint: string): string {
  if (!path.startsWith('/')) {
    throw new SandboxError(`${what} ${JSON.stringify(path)} must be an absolute path inside the sandbox`, { hint });
  }
  if (path.includes('\0')) throw new SandboxError(`${what} ${JSON.stringify(path)} contains a NUL byte`, { hint });
  const normal = posix.normalize(path);
  checkPathLimits(normal, what, hint);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}
