/**
 * Volumes, as `docker volume`: create, ls, inspect, rm, prune; and at sandbox creation,
 * `-v NAME:/path` and `-v /path` turned into binds of the volume's directory (the volume
 * created on first use; `-v /path` gets a fresh anonymous one).
 *
 * Not done: Docker copies what the image has at the mount point into a new, empty
 * volume on first use. Here a new volume starts empty and hides what the image had
 * there (as a bind does). Doing it means copying out of the merged image layers with
 * whiteouts and subordinate ids (as root of the user namespace) before the launch.
 *
 * A removal checks that no sandbox refers to the volume, then takes it away; a sandbox
 * being created at that very moment with the same volume may still see it vanish (its
 * launch then fails on the missing bind source). Docker serialises the two with a lock.
 */
import { readlinkSync, realpathSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import type { RunRequest, VolumeSpec } from '../types.js';
import { appendEvent } from '../state/events.js';
import {
  checkVolumeName, createVolumeDir, detachVolumeDir, leftoverRemovals, listVolumeNames, newAnonymousVolumeName,
  readVolume, treeSize, volumeDataDir, volumeUsers, volumesOfRequest, type CreateVolumeOptions, type VolumeBindSpec, type VolumeInfo,
} from '../state/volumes.js';
import { removeTree } from '../runtime/userns.js';

export type { VolumeInfo } from '../state/volumes.js';

function created(paths: StorePaths, volume: VolumeInfo): void {
  appendEvent(paths, { type: 'volume', action: 'volume-create', id: volume.Name, name: volume.Name, attributes: { driver: volume.Driver } });
}

/**
 * Creates a volume (a random name when none is given); an existing name is returned as it
 * is, as Docker, or with `exclusive` refused, as `podman volume create` without --ignore.
 */
export function createVolume(paths: StorePaths, name?: string, labels: Record<string, string> = {}, options: { exclusive?: boolean } & Pick<CreateVolumeOptions, 'options' | 'tmpfsOptions'> = {}): VolumeInfo {
  const r = createVolumeDir(paths, name || newAnonymousVolumeName(), {
    labels, ...(options.options ? { options: options.options } : {}), ...(options.tmpfsOptions ? { tmpfsOptions: options.tmpfsOptions } : {}),
  });
  if (r.created) created(paths, r.volume);
  else if (options.exclusive) {
    throw new SandboxError(`volume ${r.volume.Name} already exists`, { hint: `use it as it is (\`--ignore\` keeps it without an error), or remove it first: sandbox volume rm ${r.volume.Name}` });
  }
  return r.volume;
}

/** Every volume, by name. */
export function listVolumes(paths: StorePaths): VolumeInfo[] {
  return listVolumeNames(paths).map((n) => readVolume(paths, n)).filter((v): v is VolumeInfo => v !== undefined);
}

function noSuchVolume(name: string): SandboxError {
  return new SandboxError(`no such volume: ${name}`, { hint: 'list them with `sandbox volume ls`', code: 'no-such-volume' });
}

export function inspectVolume(paths: StorePaths, name: string): VolumeInfo {
  const volume = readVolume(paths, name);
  if (!volume) throw noSuchVolume(name);
  return volume;
}

/** Takes the volume out of the store and removes its files (which may belong to subordinate ids). */
async function destroy(paths: StorePaths, name: string): Promise<boolean> {
  const hidden = detachVolumeDir(paths, name);
  if (!hidden) return false;
  appendEvent(paths, { type: 'volume', action: 'volume-remove', id: name, name });
  await removeTree(hidden);
  return true;
}

/**
 * `volume rm`: refuses a volume that a sandbox (running or not) refers to. With
 * `force`, a volume that does not exist is not an error (Docker's `-f`); one in use
 * is still refused.
 */
export async function removeVolume(paths: StorePaths, name: string, options: { force?: boolean } = {}): Promise<void> {
  checkVolumeName(name);
  if (!readVolume(paths, name)) {
    if (options.force) return;
    throw noSuchVolume(name);
  }
  const users = volumeUsers(paths).get(name);
  if (users?.length) {
    const who = users.map((r) => `${r.name} (${r.id.slice(0, 12)})`).join(', ');
    throw new SandboxError(`volume ${name} is in use by sandbox ${who}`, {
      hint: `remove ${users.length > 1 ? 'those sandboxes' : 'that sandbox'} first: sandbox rm ${users.map((r) => r.name).join(' ')}`,
    });
  }
  if (!(await destroy(paths, name)) && !options.force) throw noSuchVolume(name);
}

export interface PruneResult {
  /** Names of the volumes removed. */
  removed: string[];
  /** Bytes of the files they held (best effort). */
  reclaimed: number;
}

/**
 * `volume prune`: removes every volume no sandbox refers to (named and anonymous, as
 * Podman); `match` narrows them (`prune --filter`).
 */
export async function pruneVolumes(paths: StorePaths, options: { match?: (v: VolumeInfo) => boolean } = {}): Promise<PruneResult> {
  const users = volumeUsers(paths);
  const result: PruneResult = { removed: [], reclaimed: 0 };
  for (const name of listVolumeNames(paths)) {
    if (users.has(name)) continue;
    if (options.match) {
      const volume = readVolume(paths, name);
      if (!volume || !options.match(volume)) continue;
    }
    const size = treeSize(volumeDataDir(paths, name));
    if (await destroy(paths, name)) {
      result.removed.push(name);
      result.reclaimed += size;
    }
  }
  // Removals killed half-way left hidden directories: finish them.
  for (const dir of leftoverRemovals(paths)) await removeTree(dir).catch(() => {});
  return result;
}

/**
 * At sandbox creation: each `-v NAME:/path` and `-v /path` becomes a bind of its
 * volume's `_data` (the volume created on first use; an anonymous one made fresh), or of
 * its `device=` (`volume create -o o=bind,device=DIR`). The returned request is what the
 * record keeps: binds that name their volume, so anonymous volumes are remembered and the
 * plan sees only binds. A `type=tmpfs` volume is a tmpfs of its options in each sandbox
 * that mounts it (Podman mounts one per volume while any container uses it: the same
 * empty start, but not shared between sandboxes at once); the bind of its empty `_data`
 * stays in the record (under the tmpfs) so that `volume rm` sees it in use.
 */
export function resolveVolumeMounts(paths: StorePaths, request: RunRequest): RunRequest {
  if (!request.volumes.some((v) => v.kind === 'volume')) return request;
  const tmpfs = [...request.tmpfs];
  const volumes: VolumeSpec[] = request.volumes.map((v) => {
    if (v.kind !== 'volume') return v;
    const r = v.name
      ? createVolumeDir(paths, v.name)
      : createVolumeDir(paths, newAnonymousVolumeName(), { anonymous: true });
    if (r.created) created(paths, r.volume);
    const { Options: options, TmpfsOptions: tmpfsOptions } = r.volume;
    if (tmpfsOptions) tmpfs.push({ target: v.target, options: v.readOnly ? [...tmpfsOptions.filter((o) => o !== 'rw'), 'ro'] : tmpfsOptions, ...(v.chown ? { chown: true } : {}) });
    const source = !tmpfsOptions && options?.device ? options.device : r.volume.Mountpoint;
    const bind: VolumeBindSpec = { kind: 'bind', source, target: v.target, readOnly: v.readOnly, volume: r.volume.Name, ...(v.chown ? { chown: true } : {}) };
    return bind;
  });
  return { ...request, volumes, tmpfs };
}

/**
 * Each bind's host source as the kernel will find it, symlinks resolved (realpath), as
 * Podman does: `-v /var/run/x:/x` (with /var/run -> /run) binds /run/x. The launch helper
 * reaches host paths under the host's root mounted aside, where an absolute symlink would
 * point into the sandbox's staging root instead. A missing source is one clear error.
 * Called where the plan is built, so every start binds what the path names then.
 */
export function realBindSources(request: RunRequest): RunRequest {
  if (!request.volumes.some((v) => v.kind === 'bind')) return request;
  const volumes = request.volumes.map((v) => (v.kind === 'bind' ? { ...v, source: realHostPath(v.source, `bind source ${v.source}`) } : v));
  return { ...request, volumes };
}

/** realpath, or one line naming the path (and, for a dangling symlink, where it points). */
export function realHostPath(path: string, what: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let target = '';
    try { target = ` (a symlink to ${readlinkSync(path)}, which does not exist)`; } catch { /* not a symlink */ }
    const why = code === 'ENOENT' ? `no such file or directory${target}` : code === 'ELOOP' ? 'too many levels of symlinks' : code === 'EACCES' ? 'permission denied on the way to it' : code === 'ENOTDIR' ? 'a part of the path is not a directory' : code ?? String(err);
    throw new SandboxError(`${what}: ${why}`, { hint: 'create it first, or fix the path of the -v option', cause: err });
  }
}

/**
 * The anonymous volumes of a (removed) sandbox's request, removed: `rm -v`, and what
 * a `--rm` sandbox leaves. Named volumes stay; one another sandbox still refers to stays too.
 * Returns the names removed.
 */
export async function removeAnonymousVolumes(paths: StorePaths, request: Pick<RunRequest, 'volumes'>): Promise<string[]> {
  const names = volumesOfRequest(paths, request).filter((n) => readVolume(paths, n)?.Anonymous);
  if (names.length === 0) return [];
  const users = volumeUsers(paths);
  const removed: string[] = [];
  for (const name of names) {
    if (users.has(name)) continue;
    if (await destroy(paths, name)) removed.push(name);
  }
  return removed;
}
