/**
 * Where a user's state lives. XDG by default; one override (`--root` or SANDBOX_ROOT)
 * moves all of it under one directory, so parallel test runs never share a store.
 * resolveStorePaths is pure (takes the environment and uid, touches no file);
 * realStorePaths then resolves symlinks on the way.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface StorePaths {
  /** Images, layers, containers' writable layers, volumes. */
  data: string;
  /** Live state that must vanish on reboot: locks, sockets, pids. */
  runtime: string;
  config: string;
  cache: string;
}

export interface PathEnv {
  env: NodeJS.ProcessEnv;
  uid: number;
  home: string;
  /** `--root` from the command line; beats SANDBOX_ROOT. */
  rootOverride?: string | undefined;
  /** `--runroot` from the command line: the runtime directory, wherever the rest is. */
  runrootOverride?: string | undefined;
}

/** The runtime directory without XDG_RUNTIME_DIR: in world-writable /tmp (see store-dirs.ts). */
export function runtimeFallback(uid: number): string {
  return `/tmp/sandbox-${uid}`;
}

export function resolveStorePaths(pathEnv: PathEnv): StorePaths {
  const paths = storePathsBeforeRunroot(pathEnv);
  return pathEnv.runrootOverride ? { ...paths, runtime: pathEnv.runrootOverride } : paths;
}

function storePathsBeforeRunroot({ env, uid, home, rootOverride }: PathEnv): StorePaths {
  const root = rootOverride || env.SANDBOX_ROOT;
  if (root) {
    return {
      data: join(root, 'data'),
      runtime: join(root, 'run'),
      config: join(root, 'config'),
      cache: join(root, 'cache'),
    };
  }
  const xdg = (name: string, fallback: string) => {
    const v = env[name];
    // The XDG spec says relative paths are invalid and must be ignored.
    return v && v.startsWith('/') ? v : fallback;
  };
  const runtimeBase = xdg('XDG_RUNTIME_DIR', '');
  return {
    data: join(xdg('XDG_DATA_HOME', join(home, '.local/share')), 'sandbox'),
    runtime: runtimeBase ? join(runtimeBase, 'sandbox') : runtimeFallback(uid),
    config: join(xdg('XDG_CONFIG_HOME', join(home, '.config')), 'sandbox'),
    cache: join(xdg('XDG_CACHE_HOME', join(home, '.cache')), 'sandbox'),
  };
}

/**
 * The same directories with symlinks on the way resolved (a home directory or a --root
 * that is a symlink): the helpers reach store paths from aside (the host's root mounted
 * elsewhere in their mount namespace), where an absolute symlink points into the wrong
 * tree. What does not exist yet keeps its name under its nearest existing ancestor's real
 * path. A few syscalls, once per command.
 */
export function realStorePaths(paths: StorePaths): StorePaths {
  // The runtime directory itself is never followed (it may be a link another user planted
  // at the /tmp fallback: state/store-dirs.ts refuses it), only the way to it.
  const runtime = join(realPath(dirname(paths.runtime)), basename(paths.runtime));
  return { data: realPath(paths.data), runtime, config: realPath(paths.config), cache: realPath(paths.cache) };
}

function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}
