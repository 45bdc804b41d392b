/**
 * Which copy-on-write filesystem the sandbox's root gets: the kernel's overlayfs when
 * it allows one in a user namespace (Linux >= 5.11), else fuse-overlayfs. Probed once
 * per kernel and cached in <cache>/copy-on-write.json; SANDBOX_COW=native|fuse forces
 * a choice (tests use it to exercise the fallback on a kernel that needs none).
 */
import { mkdirSync, mkdtempSync, rmSync, accessSync, constants } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic.js';
import { ensureStoreDir } from '../state/store-dirs.js';
import { findTool } from './host-tools.js';
import { runInUserns } from './userns.js';
import { SandboxError } from '../errors.js';

export type CopyOnWrite = { mode: 'native' } | { mode: 'fuse'; fuseOverlayfs: string };

interface ProbeCache {
  kernel: string;
  native: boolean;
}

async function nativeOverlayWorks(paths: StorePaths): Promise<boolean> {
  const dir = mkdtempSync(join(ensureStoreDir(paths, 'cache'), 'overlay-probe-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, d));
    const opts = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work,userxattr`;
    await runInUserns(['mount', '-t', 'overlay', 'overlay', '-o', opts, join(dir, 'merged')], { captureStderr: true });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fuseUsable(): string | undefined {
  const tool = findTool('fuse-overlayfs');
  if (!tool) return undefined;
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return tool;
  } catch {
    return undefined;
  }
}

/** fuse-overlayfs, which `what` needs whatever the kernel allows (its id mapping options). */
export function requireFuseOverlayfs(what: string): CopyOnWrite {
  const fuseOverlayfs = fuseUsable();
  if (fuseOverlayfs) return { mode: 'fuse', fuseOverlayfs };
  throw new SandboxError(`${what} needs fuse-overlayfs (it shows the image's files with their owners in the sandbox's id mapping), which is missing or /dev/fuse is not read-writable for you`, {
    hint: 'sudo apt-get install fuse-overlayfs, and make /dev/fuse read-writable (sudo chmod 0666 /dev/fuse); `sandbox doctor` checks both',
  });
}

export async function copyOnWrite(paths: StorePaths, env: NodeJS.ProcessEnv = process.env): Promise<CopyOnWrite> {
  const forced = env.SANDBOX_COW;
  if (forced === 'native') return { mode: 'native' };
  const cacheFile = join(paths.cache, 'copy-on-write.json');
  let native = false;
  if (forced !== 'fuse') {
    const cached = readJsonIfExists<ProbeCache>(cacheFile);
    if (cached && cached.kernel === release()) native = cached.native;
    else {
      native = await nativeOverlayWorks(paths);
      writeJsonAtomic(cacheFile, { kernel: release(), native } satisfies ProbeCache);
    }
    if (native) return { mode: 'native' };
  }
  const fuseOverlayfs = fuseUsable();
  if (fuseOverlayfs) return { mode: 'fuse', fuseOverlayfs };
  throw new SandboxError(
    forced === 'fuse'
      ? 'SANDBOX_COW=fuse, but fuse-overlayfs is missing or /dev/fuse is not read-writable for you'
      : 'no copy-on-write filesystem: this kernel refuses overlayfs in a user namespace and fuse-overlayfs is not usable',
    { hint: 'sudo apt-get install fuse-overlayfs, and make /dev/fuse read-writable (sudo chmod 0666 /dev/fuse); `sandbox doctor` checks both' },
  );
}
