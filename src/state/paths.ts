/**
 * Where a user's state lives. XDG by default; one override (`--root` or SANDBOX_ROOT)
 * moves all of it under one directory, so parallel test runs never share a store.
 * Pure: takes the environment and uid, touches no file.
 */
import { join } from 'node:path';

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
}

/** The runtime directory without XDG_RUNTIME_DIR: in world-writable /tmp (see store-dirs.ts). */
export function runtimeFallback(uid: number): string {
  return `/tmp/sandbox-${uid}`;
}

export function resolveStorePaths({ env, uid, home, rootOverride }: PathEnv): StorePaths {
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
