/**
 * Running a sandbox in the foreground: resolve the root, record the sandbox, build the
 * launch plan, start the native helper, wait, record the end (or remove it all for
 * `--rm`). Detached sandboxes and the rest of the lifecycle build on the same steps.
 */
import { mkdirSync, readdirSync, readlinkSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRequest } from './types.js';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import {
  createContainer, containerDir, newContainerId, releaseName, writeRecord, type ContainerRecord,
} from '../state/containers.js';
import {
  buildLaunchArgs, dirsToCreate, hostsFile, resolveCommand, type HostRootEntry, type ImageRunConfig,
  type RootSource, type SandboxDirs,
} from '../runtime/plan.js';
import { helperPath, requireTool } from '../runtime/host-tools.js';
import { runHelper } from '../runtime/launch.js';
import { userIdMaps, removeTree } from '../runtime/userns.js';
import { resolveImage } from '../images/store.js';
import { runConfigOf } from '../images/config.js';
import { effectiveCapabilities } from '../runtime/capabilities.js';
import { copyOnWrite } from '../runtime/cow.js';

export const HOST_IMAGE = 'host';

export interface RunOutcome {
  id: string;
  name: string;
  exitCode: number;
}

export interface RunHooks {
  /** One-line warnings for the user (e.g. a single-id mapping). */
  warn?: (message: string) => void;
  /** Pass this process's SIGINT, SIGTERM, ... on to the sandbox (the CLI does). */
  forwardSignals?: boolean;
}

function hostRootEntries(): HostRootEntry[] {
  return readdirSync('/', { withFileTypes: true }).map((d) => {
    if (d.isSymbolicLink()) return { name: d.name, type: 'symlink' as const, target: readlinkSync(join('/', d.name)) };
    return { name: d.name, type: d.isDirectory() ? ('dir' as const) : ('other' as const) };
  });
}

interface ResolvedRoot {
  root: RootSource;
  image: ImageRunConfig;
  imageId?: string;
}

function resolveRoot(paths: StorePaths, request: RunRequest): ResolvedRoot {
  if (request.rootfs) {
    let isDir = false;
    try { isDir = statSync(request.rootfs).isDirectory(); } catch { isDir = false; }
    if (!isDir) throw new SandboxError(`--rootfs ${request.rootfs}: not a directory`, { hint: 'give the directory holding the root filesystem' });
    return { root: { kind: 'layers', lowers: [request.rootfs] }, image: { env: [] } };
  }
  if (request.image === HOST_IMAGE) {
    return { root: { kind: 'host', entries: hostRootEntries() }, image: { env: [], cmd: ['/bin/sh'] } };
  }
  const resolved = resolveImage(paths, request.image);
  return { root: { kind: 'layers', lowers: resolved.lowers }, image: runConfigOf(resolved.config), imageId: resolved.record.id };
}

/** A resolv.conf that works inside: loopback name servers of the host are unreachable from a new network namespace. */
function resolvConfFor(request: RunRequest): string {
  let host = '';
  try { host = readFileSync('/etc/resolv.conf', 'utf8'); } catch { host = ''; }
  if (request.network === 'host') return host;
  const kept = host.split('\n').filter((l) => !/^\s*nameserver\s/.test(l));
  // slirp4netns forwards DNS at 10.0.2.3 to the host's resolver.
  if (request.network === 'slirp4netns') kept.unshift('nameserver 10.0.2.3');
  return kept.join('\n');
}

function sandboxDirs(dir: string): SandboxDirs {
  return {
    container: dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    merged: join(dir, 'merged'),
    hostDirs: join(dir, 'host'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
  };
}

/** Runs a sandbox in the foreground and returns when it has ended. */
export async function runForeground(paths: StorePaths, request: RunRequest, hooks: RunHooks = {}): Promise<RunOutcome> {
  if (request.network === 'pasta') {
    throw new SandboxError('--network pasta is not available yet', {
      hint: 'use --network slirp4netns (the default), none (loopback only) or host',
    });
  }
  const slirp4netns = request.network === 'slirp4netns'
    ? requireTool('slirp4netns', 'slirp4netns', 'for --network slirp4netns (the default); --network none or host work without it')
    : undefined;
  const helper = helperPath();
  const { root, image, imageId } = resolveRoot(paths, request);
  const cow = await copyOnWrite(paths);
  const fuseOverlayfs = cow.mode === 'fuse' ? cow.fuseOverlayfs : undefined;
  const command = resolveCommand(image, request);
  const maps = userIdMaps();
  if (maps.degraded) hooks.warn?.(`only your own user id is mapped into the sandbox: ${maps.degraded}`);

  const id = newContainerId();
  const hostname = request.hostname ?? id.slice(0, 12);
  const name = request.name ?? `sandbox-${id.slice(0, 12)}`;
  const now = new Date().toISOString();
  const record: ContainerRecord = {
    id, name, created: now, image: request.rootfs ?? request.image, ...(imageId ? { imageId } : {}),
    command, hostname, request, state: { status: 'created' },
  };
  mkdirSync(paths.data, { recursive: true });
  const dir = await createContainer(paths, record);
  const dirs = sandboxDirs(dir);
  let exitCode: number;
  try {
    for (const d of dirsToCreate(root, dirs, !!fuseOverlayfs)) mkdirSync(d, { recursive: true });
    writeFileSync(dirs.hosts, hostsFile(hostname, request.network === 'host' ? readFileSync('/etc/hosts', 'utf8') : undefined));
    writeFileSync(dirs.hostname, `${hostname}\n`);
    writeFileSync(dirs.resolvConf, resolvConfFor(request));
    const args = buildLaunchArgs({
      request, image, root, dirs, hostname,
      uidMaps: maps.uid, gidMaps: maps.gid, ...(maps.tools ? { mapTools: maps.tools } : {}),
      capabilities: effectiveCapabilities(request.capAdd, request.capDrop),
      cleanup: request.remove,
      statusFd: 3,
      dieWithParent: process.pid,
      ...(slirp4netns ? { slirp4netns } : {}),
      ...(fuseOverlayfs ? { fuseOverlayfs } : {}),
    });
    let started = false;
    exitCode = await runHelper(helper, args, {
      stdin: request.interactive ? 'inherit' : 'ignore',
      forwardSignals: !!hooks.forwardSignals,
      onStatus: (s) => {
        if (s.pid !== undefined && !request.remove) {
          record.state = { status: 'running', pid: s.pid, startedAt: new Date().toISOString() };
          writeRecord(paths, record);
        }
        if (s.started) started = true;
      },
    });
    if (!request.remove) {
      record.state = {
        ...record.state, status: 'exited', exitCode, finishedAt: new Date().toISOString(),
        ...(started ? {} : { error: 'the sandbox could not be set up' }),
      };
      writeRecord(paths, record);
    }
  } finally {
    if (request.remove) {
      // The helper removes the directory itself; this catches a setup that failed before it could.
      if (existsSync(dir)) await removeTree(dir).catch(() => {});
      releaseName(paths, name, id);
    }
  }
  return { id, name, exitCode };
}

export { containerDir };
