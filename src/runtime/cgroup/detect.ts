/**
 * What this host offers this user for resource limits (./limits.ts CgroupHost): the
 * cgroup layout, the user's delegated v2 subtree (systemd's user@UID.service) and
 * whether we are inside it, or the v1 subtree an administrator delegated
 * (`<mount>/<controller>/sandbox/<uid>`, owned by the user). A few stat(2)s and two
 * small reads: only `run` with a limit and `doctor` pay for them.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { V1_CONTROLLERS, type CgroupHost, type V1Controller, type WeightFile } from './limits.js';
import { userManager } from './scope.js';

/** Where the cgroup filesystems are mounted; SANDBOX_CGROUP_FS points elsewhere (tests: a host without delegation). */
export function cgroupFsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SANDBOX_CGROUP_FS || '/sys/fs/cgroup';
}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

function writable(path: string): boolean {
  try { accessSync(path, constants.W_OK); return true; } catch { return false; }
}

/** The `0::` path of /proc/self/cgroup text (cgroup v2), or undefined. */
export function ownV2Path(procSelfCgroup: string): string | undefined {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3).replace(/ \(deleted\)$/, '') || '/' : undefined;
}

/** The delegated ancestor (`.../user@UID.service`) of a v2 path, or undefined. */
export function userServicePrefix(path: string, uid: number): string | undefined {
  const parts = path.split('/');
  const at = parts.indexOf(`user@${uid}.service`);
  return at < 0 ? undefined : parts.slice(0, at + 1).join('/');
}

export function detectCgroupHost(uid = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): CgroupHost {
  const fsRoot = cgroupFsRoot(env);
  const host: CgroupHost = { fsRoot, uid, layout: 'none' };
  if (existsSync(join(fsRoot, 'cgroup.controllers'))) {
    host.layout = 'unified';
    const own = ownV2Path(readText('/proc/self/cgroup') ?? '') ?? '/';
    const prefix = userServicePrefix(own, uid);
    const dir = join(fsRoot, prefix ?? `/user.slice/user-${uid}.slice/user@${uid}.service`);
    let owner = -1;
    try { owner = statSync(dir).uid; } catch { /* no user manager */ }
    if (owner === uid && writable(join(dir, 'cgroup.subtree_control'))) {
      const controllers = (readText(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
      host.v2 = { dir, controllers, inside: prefix !== undefined, swap: existsSync(join(dir, 'memory.swap.max')) };
      const ioWeight = weightFile(dir, 'io');
      if (ioWeight) host.v2.ioWeight = ioWeight;
      // Outside it: a transient scope of the user's manager gets the sandbox's processes in (./scope.ts).
      if (prefix === undefined) {
        const manager = userManager(uid, env);
        if ('systemdRun' in manager) host.v2.viaScope = true;
        else host.v2.noScope = manager;
      }
    }
    return host;
  }
  const dirs: Partial<Record<V1Controller, string>> = {};
  let mounted = false;
  for (const c of V1_CONTROLLERS) {
    if (!existsSync(join(fsRoot, c, 'cgroup.procs'))) continue;
    mounted = true;
    const dir = join(fsRoot, c, 'sandbox', String(uid));
    if (writable(dir)) dirs[c] = dir;
  }
  if (!mounted) return host;
  host.layout = existsSync(join(fsRoot, 'unified')) ? 'hybrid' : 'v1';
  if (Object.keys(dirs).length) {
    host.v1 = { dirs, memsw: !!dirs.memory && existsSync(join(dirs.memory, 'memory.memsw.limit_in_bytes')) };
    const blkioWeight = dirs.blkio ? weightFile(dirs.blkio, 'blkio') : undefined;
    if (blkioWeight) host.v1.blkioWeight = blkioWeight;
  }
  return host;
}

/**
 * cgroup v2 with this process inside the user's delegated subtree (user@UID.service):
 * where every sandbox gets a cgroup of its own, limits or not (pause, stats, OOM kills),
 * as each of rootless Podman's containers gets a scope. Its cost there is a mkdir and a
 * birth into it (clone3 CLONE_INTO_CGROUP, no migration). Undefined elsewhere, after one
 * stat(2) on a v1 or hybrid host: there joining a cgroup costs an RCU grace period, and
 * from outside the subtree a systemd scope a D-Bus round trip, so only a sandbox with a
 * limit gets one.
 */
export function delegatedV2Host(env: NodeJS.ProcessEnv = process.env): CgroupHost | undefined {
  if (!existsSync(join(cgroupFsRoot(env), 'cgroup.controllers'))) return undefined;
  const host = detectCgroupHost(process.getuid?.() ?? 0, env);
  return host.v2?.inside ? host : undefined;
}

/** The I/O weight file a cgroup directory has (BFQ's first, as runc prefers it), or undefined: the disks' scheduler offers none. */
export function weightFile(dir: string, prefix: 'io' | 'blkio'): WeightFile | undefined {
  for (const f of [`${prefix}.bfq.weight`, `${prefix}.weight`] as WeightFile[]) if (existsSync(join(dir, f))) return f;
  return undefined;
}

/** The v1 controllers mounted here (for the administrator's commands). */
export function mountedV1Controllers(fsRoot: string): V1Controller[] {
  return V1_CONTROLLERS.filter((c) => existsSync(join(fsRoot, c, 'cgroup.procs')));
}
