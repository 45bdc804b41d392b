/**
 * Host devices in a sandbox (`--device`, `--privileged`). Rootless, a device node cannot
 * be made (mknod needs CAP_MKNOD in the host's user namespace) and there is no device
 * cgroup, so, as rootless Podman does, the host's node is bind-mounted into the sandbox's
 * /dev, and the kernel's own check of the node's owner and mode is what grants access.
 * What that check cannot do is refused here, with the reason:
 * - a device the user cannot open at all (nothing to pass on);
 * - one the user may write that is asked for read-only (`:r`), or the other way round: a
 *   read-only bind does not stop writes to a device node (checked here: `echo > X` on a
 *   read-only bind of /dev/null succeeds), and no device cgroup can;
 * - one the user may open only through a supplementary group, unless that group stays
 *   (`--group-add keep-groups`): inside, the caller's supplementary groups are dropped
 *   and other owners are not mapped, so only its owner or group bits (when they are the
 *   caller's own: root inside) or its "other" bits count.
 */
import { accessSync, constants, existsSync, readdirSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { SandboxError } from '../errors.js';
import type { DeviceSpec } from '../types.js';

const DEVICE_HINT = 'use --device /dev/NAME[:/dev/INSIDE][:PERMS], PERMS of r, w and m (default rwm), e.g. --device /dev/fuse';

function isMode(s: string): boolean {
  return s.length > 0 && s.length <= 3 && /^[rwm]+$/.test(s) && new Set(s).size === s.length;
}

/** One `--device` value, Podman's forms: HOST, HOST:CTR, HOST:PERMS, HOST:CTR:PERMS. Pure. */
export function parseDevice(spec: string): DeviceSpec {
  const invalid = (why: string) => new SandboxError(`invalid --device ${JSON.stringify(spec)}: ${why}`, { hint: DEVICE_HINT });
  const parts = spec.split(':');
  if (parts.length > 3) throw invalid('too many ":"');
  const [host = '', second, third] = parts;
  let container = host;
  let permissions = 'rwm';
  if (third !== undefined) {
    if (!isMode(third)) throw invalid(`${JSON.stringify(third)} is not a permission set (r, w and m, each at most once)`);
    permissions = third;
  }
  if (second !== undefined) {
    if (third === undefined && isMode(second)) permissions = second;
    else if (second.startsWith('/')) container = posix.normalize(second);
    else throw invalid(`${JSON.stringify(second)} is neither a path inside (absolute) nor a permission set`);
  }
  if (!host.startsWith('/dev/')) throw invalid('the host device must be a path under /dev/');
  if (container === '/dev' || container === '/' || !container.startsWith('/')) throw invalid('the path inside must be a file below /');
  return { host: posix.normalize(host), container, permissions };
}

/** What the user may do with a node outside, and what the sandbox's root may do inside. */
export interface Access { read: boolean; write: boolean; insideRead: boolean; insideWrite: boolean }

/** The caller's ids: root inside is its uid and primary gid; its supplementary groups are dropped there. */
export interface CallerIds { uid: number; gid: number; groups: readonly number[] }

/**
 * What the caller may do with a node (access(2), as the caller), and what the sandbox's
 * root may: the node's owner bits when it is the caller's, its group bits when its group
 * is the caller's primary one, else its "other" bits; unless the access outside comes
 * from elsewhere than a supplementary group (an ACL entry for the caller's uid, such as
 * logind's for a desktop's devices: root inside is that uid to the kernel, so it holds).
 */
export function accessOf(path: string, st: Pick<Stats, 'uid' | 'gid' | 'mode'>, ids: CallerIds): Access {
  const can = (mode: number) => { try { accessSync(path, mode); return true; } catch { return false; } };
  const shift = st.uid === ids.uid ? 6 : st.gid === ids.gid ? 3 : 0;
  const bySupplementaryGroup = shift === 0 && ids.groups.includes(st.gid);
  const read = can(constants.R_OK);
  const write = can(constants.W_OK);
  return {
    read,
    write,
    insideRead: ((st.mode >> shift) & 4) !== 0 || (read && !bySupplementaryGroup),
    insideWrite: ((st.mode >> shift) & 2) !== 0 || (write && !bySupplementaryGroup),
  };
}

function callerIds(): CallerIds {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

function describe(path: string, st: Stats): string {
  const kind = st.isBlockDevice() ? 'b' : 'c';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (st.mode & (0o400 >> i) ? c : '-')).join('');
  return `${path} (${kind}${bits}, owner ${st.uid}, group ${st.gid})`;
}

/**
 * Why `dev` (already stat'ed) cannot be passed in as asked, or null. `keepGroups`: the
 * caller's supplementary groups stay inside (`--group-add keep-groups`).
 */
export function deviceProblem(dev: DeviceSpec, st: Stats, a: Access, keepGroups: boolean): SandboxError | null {
  const what = describe(dev.host, st);
  if (!a.read && !a.write) {
    return new SandboxError(`cannot pass device ${what} in: you may neither read nor write it`, {
      hint: 'a rootless sandbox can only use the devices you can open yourself: ask an administrator for access (a group, or a udev rule), or leave --device out',
    });
  }
  const wantRead = dev.permissions.includes('r');
  const wantWrite = dev.permissions.includes('w');
  if ((!wantWrite && a.write) || (!wantRead && a.read)) {
    return new SandboxError(`cannot pass device ${dev.host} in as ${dev.permissions}: you may ${a.read ? 'read' : ''}${a.read && a.write ? ' and ' : ''}${a.write ? 'write' : ''} it, and a rootless sandbox cannot take that away (a read-only bind does not stop writes to a device node, and there is no device cgroup)`, {
      hint: `give it as ${a.read && a.write ? 'rw' : a.read ? 'r' : 'w'} (the kernel still checks your own permissions on the node), or leave it out`,
    });
  }
  if (!keepGroups && ((a.read && !a.insideRead) || (a.write && !a.insideWrite))) {
    return new SandboxError(`device ${what} is yours to open only through a supplementary group, which the sandbox drops`, {
      hint: 'add --group-add keep-groups: your groups then stay with the command inside',
    });
  }
  return null;
}

function devicesBelow(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...devicesBelow(p));
    else if (e.isCharacterDevice() || e.isBlockDevice()) out.push(p);
  }
  return out;
}

/**
 * The `--device` values of a sandbox being created, checked against the host as the
 * caller and with a directory expanded to the devices below it (as Podman does).
 */
export function resolveDevices(devices: readonly DeviceSpec[], keepGroups: boolean, ids = callerIds()): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  for (const dev of devices) {
    let st: Stats;
    try {
      st = statSync(dev.host);
    } catch (err) {
      throw new SandboxError(`cannot pass device ${dev.host} in: ${(err as NodeJS.ErrnoException).code ?? err}`, { hint: 'give a device node that exists on this host (ls -l /dev)', cause: err });
    }
    const nodes = st.isDirectory()
      ? devicesBelow(dev.host).map((host) => ({ ...dev, host, container: posix.join(dev.container, posix.relative(dev.host, host)) }))
      : [dev];
    if (st.isDirectory() && nodes.length === 0) throw new SandboxError(`cannot pass ${dev.host} in: no device nodes below it`, { hint: DEVICE_HINT });
    if (!st.isDirectory() && !st.isCharacterDevice() && !st.isBlockDevice()) {
      throw new SandboxError(`cannot pass ${dev.host} in: not a device node`, { hint: 'bind ordinary files with -v HOST:INSIDE' });
    }
    for (const node of nodes) {
      const nst = node === dev ? st : statSync(node.host);
      const problem = deviceProblem(node, nst, accessOf(node.host, nst, ids), keepGroups);
      if (problem) throw problem;
      out.push(node);
    }
  }
  return out;
}

/** /dev entries never passed in by --privileged: the sandbox's own (a /dev/pts of its own), and terminals, as rootless Podman. */
const OWN_NODES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx', '/dev/console']);
const OWN_DIRS = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue']);

/**
 * `--privileged`: the host's device nodes the caller can use inside (open outside, by
 * owner or "other" bits, or any way with keep-groups), bound in read-write. Rootless
 * Podman binds every node but terminals and ptmx; the ones nobody inside could open are
 * left out here.
 */
export function privilegedDevices(keepGroups: boolean, ids = callerIds(), root = '/dev'): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  const walk = (dir: string) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (!OWN_DIRS.has(p)) walk(p);
        continue;
      }
      if (!(e.isCharacterDevice() || e.isBlockDevice()) || OWN_NODES.has(p) || /^tty/.test(e.name)) continue;
      let st: Stats;
      try { st = statSync(p); } catch { continue; }
      const dev = { host: p, container: p, permissions: 'rwm' };
      const a = accessOf(p, st, ids);
      if (!a.read && !a.write) continue;
      if (!keepGroups && !(a.read && a.insideRead) && !(a.write && a.insideWrite)) continue;
      out.push(dev);
    }
  };
  walk(root);
  return out.sort((a, b) => a.container.localeCompare(b.container));
}

/**
 * The devices a start binds: --device's (still there: a node unplugged since the create
 * is named, not left to a bind's error), and with --privileged the host's usable ones
 * (those of --device win).
 */
export function devicesToBind(request: { devices?: DeviceSpec[]; privileged?: boolean; groupAdd?: string[] }): DeviceSpec[] {
  const given = request.devices ?? [];
  for (const d of given) {
    if (!existsSync(d.host)) {
      throw new SandboxError(`device ${d.host}, passed in with --device, is no longer on this host`, {
        hint: 'plug it in (or load its driver) again, or create the sandbox again without it',
      });
    }
  }
  if (!request.privileged) return given;
  const taken = new Set(given.map((d) => d.container));
  return [...given, ...privilegedDevices(request.groupAdd?.includes('keep-groups') ?? false).filter((d) => !taken.has(d.container))];
}
