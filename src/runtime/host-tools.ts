/**
 * Finding the host programs we drive (newuidmap, slirp4netns, ...) and our own helper.
 * Looked up once per process; a missing tool becomes a SandboxError with the fix.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { SandboxError } from '../errors.js';

const cache = new Map<string, string | null>();

// sbin directories are often not in an unprivileged user's PATH, but newuidmap may live there.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const hit = cache.get(name);
  if (hit !== undefined) return hit ?? undefined;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      cache.set(name, candidate);
      return candidate;
    } catch { /* next */ }
  }
  cache.set(name, null);
  return undefined;
}

export function requireTool(name: string, debianPackage: string, why: string): string {
  const path = findTool(name);
  if (!path) {
    throw new SandboxError(`${name} not found: it is needed ${why}`, {
      hint: `install it: sudo apt-get install ${debianPackage}   (\`sandbox doctor\` checks everything)`,
    });
  }
  return path;
}

/** The repository (or installed package) root: the directory holding our package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'helpers'))) return dir;
    dir = dirname(dir);
  }
  throw new SandboxError('cannot find the sandbox installation directory', { hint: 'reinstall sandbox' });
}

export function helperPath(name = 'sandbox-launch'): string {
  const p = join(packageRoot(), 'helpers', 'build', name);
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new SandboxError(`the native helper ${name} is not built`, {
      hint: `run \`npm run build\` in ${packageRoot()} (needs gcc and make)`,
    });
  }
  return p;
}
