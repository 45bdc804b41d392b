/**
 * The launch plan: everything a sandbox's start needs, decided up front as plain data
 * and rendered as the argument list of sandbox-launch (helpers/README.md; an ordered list of typed
 * mount operations, like bubblewrap's). Pure: no file is touched here.
 */
import { CONTAINER_ENV_VALUE, CONTAINERENV_PATH } from './containerenv.js';
import { posix } from 'node:path';
import type { DeviceSpec, HealthcheckSpec, RunRequest, VolumeSpec } from '../types.js';
import { SandboxError } from '../errors.js';
import { checkExecStrings } from './limits.js';
import { formatMapping, type IdMapping } from './idmap.js';
import { commandCapabilities } from './capabilities.js';
import type { SandboxDirs } from '../state/sandbox-dir.js';
import { Flag, PRESERVE_FDS_BASE, encodeWords } from './protocol.js';
import { networkDriver } from '../network/driver.js';
import { ownNameFiles } from '../network/name-files.js';
import { publishWords } from '../network/port-spec.js';
import { DEFAULT_DETACH_BYTES, detachKeysHex } from './detach-keys.js';
import { rlimitArgs } from './rlimits.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What an image says about how to run it (the OCI image config's `config`). */
export interface ImageRunConfig {
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
  /** The image's StopSignal, as written there (`SIGQUIT`, `3`). */
  stopSignal?: string;
  /** The image's HEALTHCHECK (config.Healthcheck), durations in ms. */
  healthcheck?: HealthcheckSpec;
  /** The image's EXPOSE (config.ExposedPorts keys: `80/tcp`), published by -P. */
  exposedPorts?: string[];
}

/** One entry of the host's `/`, for the built-in `host` image. */
export interface HostRootEntry {
  name: string;
  type: 'dir' | 'symlink' | 'other';
  target?: string;
}

export type RootSource =
  | { kind: 'host'; entries: HostRootEntry[] }
  /** Read-only lower directories, topmost first (image layers, or a --rootfs dir). */
  /** With `base`, the lowers are relative to it (short names: see images/layers.ts). */
  | { kind: 'layers'; lowers: string[]; base?: string };

export type { SandboxDirs } from '../state/sandbox-dir.js';

export interface LaunchInput {
  request: RunRequest;
  image: ImageRunConfig;
  root: RootSource;
  dirs: SandboxDirs;
  hostname: string;
  uidMaps: IdMapping[];
  gidMaps: IdMapping[];
  /** newuidmap/newgidmap; absent when the user has no subordinate ids (single mapping). */
  mapTools?: { newuidmap: string; newgidmap: string };
  capabilities: number[];
  /** Host device nodes bound into /dev (runtime/devices.ts devicesToBind: --device, --privileged). */
  devices?: DeviceSpec[];
  /** Remove dirs.dir when the sandbox ends (`--rm`). */
  cleanup: boolean;
  /** File descriptor on which the helper reports pid / start / exit as JSON lines. */
  statusFd?: number;
  /** The CLI's pid: the sandbox is torn down if that process dies (foreground runs). */
  dieWithParent?: number;
  /** The starter's lifeline (api/sdk/lifeline.ts): the sandbox ends when the other end of `fd` closes, after `marker` is created. */
  ownerLifeline?: { fd: number; marker: string };
  /** The host programs the network driver runs, by name (network/driver.ts requireNetworkTools). */
  networkTools?: Readonly<Record<string, string>>;
  /** User-defined networks to join at this start (api/networks.ts joinNetworks). */
  networkJoin?: { words: string[]; outside: boolean };
  /** Network helpers get SANDBOX_NET_OWNER=owner and a pid file in dir while they run (network/helper-files.ts). */
  netHelpers?: { dir: string; owner: string };
  /** `--network container:ID`, pod members: the other sandbox's command, whose network is joined (api/network-join.ts). */
  networkJoinPid?: number;
  /** With networkJoinPid: its uts and ipc namespaces joined too (a pod's `--share`). */
  networkJoinNamespaces?: readonly string[];
  /** An id mode's maps (ids of the default namespace): the sandbox's user namespace nests below it (helpers/launch/nested.c). */
  innerMaps?: { uid: IdMapping[]; gid: IdMapping[] };
  /** The command's ids inside, for `--mount type=tmpfs,...,U` (a tmpfs of its own). */
  userIds?: { uid: number; gid: number };
  /** fuse-overlayfs instead of the kernel's overlayfs for the root. */
  fuseOverlayfs?: string;
  /**
   * The monitor writes the output here (rotated past maxSize bytes); with `tee` (a
   * foreground sandbox that is kept) it also passes it on to the terminal.
   */
  log?: { path: string; maxSize: number; tee?: boolean; dropOld?: boolean };
  /** Periodic health checks: the monitor starts `runner` (argv) every `intervalMs` while the command runs. */
  healthCheck?: { intervalMs: number; runner: string[] };
  /** Detached sandboxes: the monitor records the end here. */
  exitFile?: string;
  /** The monitor rewrites the current init's pid here at every (re)start. */
  pidFile?: string;
  /**
   * The monitor's first act: it locks the directory of this file and writes its pid and
   * start time there, so that it can always be found (state/status.ts currentState).
   */
  monitorFile?: string;
  /** `--rm`: the name reservation the monitor removes (if it still holds `id`) once the sandbox's directory is gone. */
  releaseName?: { file: string; id: string };
  /** The journal the monitor appends `die` and `restart` events to, and who it names. */
  events?: { file: string; id: string; name: string };
  /** Where the monitor listens for `sandbox attach` while the sandbox runs. */
  attachSocket?: string;
  /** Run in the background (run -d, start): stdin (-i) is kept for attachers, not read from the helper's own. */
  detached?: boolean;
  /** Limits: the sandbox's cgroups (made, limits written: runtime/cgroup/manage.ts), joined by the init; the OOM mark's file. */
  cgroup?: { dirs: string[]; oomFile: string };
  /** The command's seccomp filter, as plan words (runtime/seccomp/sandbox-filter.ts); none: unconfined. */
  seccomp?: string[];
}

/** The plan words that put a process into a sandbox's cgroups (launch/cgroup.c). */
export function cgroupWords(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => [Flag.cgroup, d]);
}

/** Host top-level directories that the `host` image replaces with fresh ones. */
const HOST_FRESH = new Set(['proc', 'sys', 'dev', 'tmp', 'run']);

/** Podman's masked and read-only paths: kernel interfaces a container has no business with. */
const MASKED_PATHS = [
  '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/fs/selinux', '/sys/dev/block',
];
const READONLY_PATHS = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's rule: --entrypoint replaces the image's and drops its Cmd; arguments replace Cmd. */
export function resolveCommand(image: ImageRunConfig, request: RunRequest): string[] {
  const entrypoint = request.entrypoint ?? image.entrypoint ?? [];
  const cmd = request.command.length > 0 ? request.command : request.entrypoint !== undefined ? [] : image.cmd ?? [];
  const argv = [...entrypoint, ...cmd];
  checkExecStrings(argv, 'command argument');
  if (argv.length === 0) {
    throw new SandboxError('no command specified: the image has no default command', {
      hint: `give one after the image name, e.g. \`sandbox run --rm -it ${request.image} sh\``,
    });
  }
  return argv;
}

/** The sandbox's environment: the image's, ours, then the caller's `-e`, later wins. */
export function buildEnv(image: ImageRunConfig, request: RunRequest, hostname: string): string[] {
  const env = new Map<string, string>();
  env.set('PATH', DEFAULT_PATH);
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  env.set('container', CONTAINER_ENV_VALUE); // what Podman sets (runtime/containerenv.ts says why)
  env.set('HOSTNAME', hostname);
  if (request.tty) env.set('TERM', 'xterm');
  for (const [k, v] of Object.entries(request.env)) env.set(k, v);
  const entries = [...env].map(([k, v]) => `${k}=${v}`);
  checkExecStrings(entries, 'environment variable');
  return entries;
}

/** A tmpfs's mount options; with U, owned by the command's ids (tmpfs' uid=/gid=, in the sandbox's ids). */
function tmpfsOptions(t: RunRequest['tmpfs'][number], ids: LaunchInput['userIds']): string[] {
  if (!t.chown || !ids) return t.options;
  return [...t.options.filter((o) => !/^(uid|gid)=/.test(o)), `uid=${ids.uid}`, `gid=${ids.gid}`];
}

function depth(p: string): number {
  return posix.normalize(p).split('/').filter(Boolean).length;
}

function volumeArgs(v: VolumeSpec): string[] {
  if (v.kind !== 'bind') {
    throw new SandboxError(`internal: unresolved volume ${v.name || '(anonymous)'}:${v.target}`, {
      hint: 'volumes are resolved to binds when the sandbox is created (resolveVolumeMounts)',
    });
  }
  const args = v.nonRecursive
    ? [Flag.bindNonrec, v.source, v.target, ...(v.readOnly ? [Flag.remountRo, v.target] : [])]
    : [v.readOnly ? Flag.roBind : Flag.bind, v.source, v.target];
  // rprivate is what every mount in the sandbox is already.
  if (v.propagation && v.propagation !== 'rprivate') args.push(Flag.propagation, v.target, v.propagation);
  return args;
}

/**
 * The paths hidden from the sandbox and those made read-only (Podman's defaults, checked
 * against Podman 4.3's OCI spec), with `--security-opt mask=` added and `unmask=` (ALL, or
 * paths) or `--privileged` taking the defaults away.
 */
export function maskedPaths(request: Pick<RunRequest, 'maskPaths' | 'unmaskPaths' | 'privileged'>): { masked: string[]; readOnly: string[] } {
  const unmask = new Set(request.unmaskPaths ?? []);
  // --privileged lifts the defaults, as unmask=ALL (mask= still applies, as in Podman).
  const all = unmask.has('ALL') || request.privileged === true;
  const keep = (p: string) => !all && !unmask.has(p);
  return {
    masked: [...MASKED_PATHS.filter(keep), ...(request.maskPaths ?? []).filter((p) => !MASKED_PATHS.includes(p))],
    readOnly: READONLY_PATHS.filter(keep),
  };
}

/**
 * Host devices as plan words: a bind of the node (rootless, none can be made), read-only
 * without `w` as rootless Podman's (runtime/devices.ts refuses what that cannot enforce).
 */
function deviceArgs(devices: readonly DeviceSpec[]): string[] {
  return devices.flatMap((d) => [d.permissions.includes('w') ? Flag.bind : Flag.roBind, d.host, d.container]);
}

/** `--group-add` as plan words: keep-groups, or one group each. */
function groupArgs(request: Pick<RunRequest, 'groupAdd'>): string[] {
  const groups = request.groupAdd ?? [];
  if (groups.includes('keep-groups')) return [Flag.keepGroups];
  return groups.flatMap((g) => [Flag.groupAdd, g]);
}

function baseArgs(root: RootSource): string[] {
  return root.kind === 'layers' && root.base ? [Flag.rootBase, root.base] : [];
}

/** The root's mounts, in order, as typed operations: what both helpers' root options render. */
export type RootOp =
  | { op: 'overlay'; base?: string; lowers: string[]; upper: string; work: string }
  /** The `host` image: an overlay of the host's /<name> (or a bind, where one cannot be had). */
  | { op: 'host-dir'; name: string; upper: string; work: string }
  | { op: 'symlink'; target: string; name: string };

/** The root of `root` with its writable layers in `dirs` (the kernel's overlayfs). Pure. */
export function rootOps(root: RootSource, dirs: SandboxDirs): RootOp[] {
  if (root.kind === 'layers') {
    return [{ op: 'overlay', ...(root.base ? { base: root.base } : {}), lowers: root.lowers, upper: dirs.upper, work: dirs.work }];
  }
  const ops: RootOp[] = [];
  for (const e of root.entries) {
    if (HOST_FRESH.has(e.name)) continue;
    if (e.type === 'symlink' && e.target !== undefined) ops.push({ op: 'symlink', target: e.target, name: e.name });
    else if (e.type === 'dir') {
      const d = posix.join(dirs.hostDirs, e.name);
      ops.push({ op: 'host-dir', name: e.name, upper: `${d}/upper`, work: `${d}/work` });
    }
  }
  return ops;
}

function overlayArgs(o: Extract<RootOp, { op: 'overlay' }>): string[] {
  return [...(o.base ? [Flag.rootBase, o.base] : []), Flag.rootOverlay, o.lowers.join(':'), o.upper, o.work];
}

function rootArgs(root: RootSource, dirs: SandboxDirs, fuseOverlayfs?: string): string[] {
  if (fuseOverlayfs) {
    // fuse-overlayfs reads its lower layers by path, so the host's `/` with its
    // submounts is a valid lower layer there (unlike for the kernel's overlay).
    const lowers = root.kind === 'layers' ? root.lowers : ['/'];
    return [...baseArgs(root), Flag.rootOverlay, lowers.join(':'), dirs.upper, dirs.work, Flag.rootFuse, fuseOverlayfs, dirs.merged];
  }
  return rootOps(root, dirs).flatMap((o) => {
    if (o.op === 'overlay') return overlayArgs(o);
    if (o.op === 'symlink') return [Flag.symlink, o.target, `/${o.name}`];
    return [Flag.hostDir, `/${o.name}`, o.upper, o.work, `/${o.name}`];
  });
}

/**
 * The root of a stopped sandbox as helpers/cp.c (sandbox-cp) mounts it on `dirs.merged`:
 * the same operations, in the same words, as a launch's root. Pure.
 */
export function cpRootArgs(root: RootSource, dirs: SandboxDirs): string[] {
  return [Flag.mountpoint, dirs.merged, ...rootArgs(root, dirs)];
}

/** The host directories a plan needs to exist before the helper runs. */
export function dirsToCreate(root: RootSource, dirs: SandboxDirs, fuse = false): string[] {
  if (fuse) return [dirs.upper, dirs.work, dirs.merged];
  if (root.kind === 'layers') return [dirs.upper, dirs.work];
  return root.entries
    .filter((e) => e.type === 'dir' && !HOST_FRESH.has(e.name))
    .flatMap((e) => [posix.join(dirs.hostDirs, e.name, 'upper'), posix.join(dirs.hostDirs, e.name, 'work')]);
}

/**
 * The paths a launch mounts over inside the sandbox (the file systems, /etc's three
 * files, volumes and tmpfs): the init may have made them in the writable layer as mount
 * points, which `diff` leaves out, as Podman's does. Pure.
 */
export function mountPoints(request: Pick<RunRequest, 'volumes' | 'tmpfs' | 'readOnly' | 'noHosts' | 'dns'>): string[] {
  const names = ownNameFiles(request);
  return [
    '/proc', '/dev', '/sys', ...(names.hosts ? ['/etc/hosts'] : []), '/etc/hostname', ...(names.resolvConf ? ['/etc/resolv.conf'] : []), CONTAINERENV_PATH,
    ...(request.readOnly ? ['/tmp', '/var/tmp', '/run'] : []),
    ...request.volumes.map((v) => v.target), ...request.tmpfs.map((t) => t.target),
  ];
}

/** Renders the plan as the helper's argument list. */
export function buildLaunchArgs(input: LaunchInput): string[] {
  const { request, image, dirs } = input;
  const args: string[] = [];
  if (input.mapTools) {
    args.push(Flag.uidmapCmd, input.mapTools.newuidmap, Flag.gidmapCmd, input.mapTools.newgidmap);
    for (const m of input.uidMaps) args.push(Flag.uidMap, formatMapping(m));
    for (const m of input.gidMaps) args.push(Flag.gidMap, formatMapping(m));
  }
  for (const m of input.innerMaps?.uid ?? []) args.push(Flag.innerUidMap, formatMapping(m));
  for (const m of input.innerMaps?.gid ?? []) args.push(Flag.innerGidMap, formatMapping(m));
  if (input.statusFd !== undefined) args.push(Flag.statusFd, String(input.statusFd));
  if (input.dieWithParent !== undefined) args.push(Flag.dieWithParent, String(input.dieWithParent));
  if (input.ownerLifeline) args.push(Flag.ownerLifeline, String(input.ownerLifeline.fd), input.ownerLifeline.marker);
  const network = networkDriver(request.network);
  args.push(Flag.network, network.launchDriver, ...network.launchArgs({ request, tools: input.networkTools ?? {}, dir: dirs.dir, ...(input.networkJoin ? { join: input.networkJoin } : {}), ...(input.networkJoinPid ? { joinPid: input.networkJoinPid, joinNamespaces: input.networkJoinNamespaces ?? [] } : {}) }));
  if (input.netHelpers) args.push(Flag.netHelpers, input.netHelpers.dir, input.netHelpers.owner);
  // Published ports (resolved at create): launch/ports.c serves them, or the driver itself (pasta).
  args.push(...publishWords(Flag.publish, request.ports ?? []));
  if (request.tty) args.push(Flag.tty);
  if (request.interactive && input.detached) args.push(Flag.keepStdin);
  else if (request.tty && request.interactive) args.push(Flag.stdin);
  if (input.attachSocket) args.push(Flag.attachSocket, input.attachSocket);
  if (input.dieWithParent !== undefined) {
    // A foreground run can go on in the background: its detach keys (-it), or a signal with --sig-proxy=false.
    const keys = request.detachKeys ?? DEFAULT_DETACH_BYTES;
    if (request.tty && request.interactive && keys.length) args.push(Flag.detachKeys, detachKeysHex(keys));
    if (request.sigProxy === false) args.push(Flag.detachOnSignal);
  }
  if (input.cleanup) args.push(Flag.cleanup, dirs.dir);
  if (input.log) args.push(Flag.log, input.log.path, Flag.logMaxSize, String(input.log.maxSize));
  if (input.log?.tee) args.push(Flag.logTee);
  if (input.log?.dropOld) args.push(Flag.logDropOld);
  if (input.healthCheck) args.push(Flag.healthCheck, String(input.healthCheck.intervalMs), encodeWords(input.healthCheck.runner));
  if (input.exitFile) args.push(Flag.exitFile, input.exitFile);
  if (input.pidFile) args.push(Flag.pidFile, input.pidFile);
  if (input.monitorFile) args.push(Flag.monitorFile, input.monitorFile);
  if (input.cgroup) args.push(...cgroupWords(input.cgroup.dirs), Flag.oomFile, input.cgroup.oomFile);
  if (input.cleanup && input.releaseName) args.push(Flag.releaseName, input.releaseName.file, input.releaseName.id);
  if (input.events) args.push(Flag.events, input.events.file, input.events.id, input.events.name);
  if (request.restart && request.restart !== 'no') args.push(Flag.restart, request.restart);
  if (request.stopSignal !== undefined) args.push(Flag.stopSignal, String(request.stopSignal));
  if (request.timeout) args.push(Flag.timeout, String(request.timeout));
  if (request.preserveFds) args.push(Flag.preserveFds, String(PRESERVE_FDS_BASE), String(request.preserveFds));
  args.push(Flag.hostname, input.hostname);

  args.push(...rootArgs(input.root, dirs, input.fuseOverlayfs));
  args.push(Flag.proc, '/proc', Flag.dev, '/dev', request.privileged ? Flag.sysRw : Flag.sys, '/sys');
  args.push(...deviceArgs(input.devices ?? []));
  const masks = maskedPaths(request);
  const defaultMasks = masks.masked.filter((p) => MASKED_PATHS.includes(p));
  for (const p of defaultMasks) args.push(Flag.mask, p);
  for (const p of masks.readOnly) args.push(Flag.roSelf, p);
  if (input.root.kind === 'host') {
    args.push(Flag.tmpfs, '/tmp', 'mode=1777,nosuid,nodev', Flag.tmpfs, '/run', 'mode=0755,nosuid,nodev');
  }
  // Podman's --read-only keeps the usual scratch places writable (--read-only-tmpfs).
  const userTargets = new Set([...request.volumes.map((v) => v.target), ...request.tmpfs.map((t) => t.target)]);
  const alreadyTmpfs = input.root.kind === 'host' ? ['/tmp', '/run'] : [];
  if (request.readOnly) {
    for (const p of ['/tmp', '/var/tmp', '/run']) {
      if (!userTargets.has(p) && !alreadyTmpfs.includes(p)) args.push(Flag.tmpfs, p, 'mode=1777,nosuid,nodev');
    }
  }
  // --no-hosts and --dns none keep the image's files: ours are not bound over them.
  const names = ownNameFiles(request);
  const ownFiles: [string, string][] = [
    ...(names.hosts ? [[dirs.hosts, '/etc/hosts'] as [string, string]] : []),
    [dirs.hostname, '/etc/hostname'],
    ...(names.resolvConf ? [[dirs.resolvConf, '/etc/resolv.conf'] as [string, string]] : []),
    [dirs.containerEnv, CONTAINERENV_PATH],
  ];
  for (const [src, dst] of ownFiles) args.push(Flag.bind, src, dst);

  // User mounts, parents before children whatever order they were given in (as Docker).
  const userMounts: { target: string; args: string[] }[] = [
    ...request.volumes.map((v) => ({ target: v.target, args: volumeArgs(v) })),
    ...request.tmpfs.map((t) => ({ target: t.target, args: [Flag.tmpfs, t.target, tmpfsOptions(t, input.userIds).join(',')] })),
  ];
  userMounts.sort((a, b) => depth(a.target) - depth(b.target));
  for (const m of userMounts) args.push(...m.args);
  // A tmpfs over /etc (or /run) hides the files above: they go on top of it again (as Podman's),
  // unless the user mounted one of them.
  for (const [src, dst] of ownFiles) {
    if (request.tmpfs.some((t) => t.target === posix.dirname(dst)) && !userTargets.has(dst)) args.push(Flag.bind, src, dst);
  }
  // --security-opt mask=: after the mounts, so that a path in a bind is hidden too (as the OCI runtimes do).
  for (const p of masks.masked) if (!defaultMasks.includes(p)) args.push(Flag.mask, p);
  if (request.readOnly) {
    args.push(Flag.remountRo, '/');
    // The host image's directories are mounts of their own: each is made read-only too.
    if (input.root.kind === 'host' && !input.fuseOverlayfs) {
      for (const e of input.root.entries) if (e.type === 'dir' && !HOST_FRESH.has(e.name)) args.push(Flag.remountRo, `/${e.name}`);
    }
  }

  const workdir = request.workdir ?? image.workingDir;
  if (workdir) args.push(Flag.chdir, workdir, Flag.createCwd);
  const user = request.user ?? image.user;
  if (user) args.push(Flag.user, user);
  args.push(...groupArgs(request));
  for (const e of buildEnv(image, request, input.hostname)) args.push(Flag.env, e);
  args.push(Flag.caps, input.capabilities.join(','));
  if (request.noNewPrivileges) args.push(Flag.noNewPrivs);
  args.push(...rlimitArgs(request.ulimits));
  if (request.oomScoreAdj !== undefined) args.push(Flag.oomScoreAdj, String(request.oomScoreAdj));
  args.push(...(input.seccomp ?? []));
  args.push('--', ...resolveCommand(image, request));
  return args;
}

/** What exec takes from the sandbox's image. */
export type ExecImageConfig = Pick<ImageRunConfig, 'env' | 'user' | 'workingDir'>;

/** One `exec`: the command and how it differs from the sandbox's own settings. */
export interface ExecPlanRequest {
  command: string[];
  interactive: boolean;
  tty: boolean;
  /** Set on top of the sandbox's own environment. */
  env: Record<string, string>;
  /** Must exist in the sandbox (no silent fallback). */
  workdir?: string;
  user?: string;
  /** `exec --privileged`: every capability for this command. */
  privileged?: boolean;
}

/** What an exec plan needs of the sandbox's record. */
export interface ExecSandbox {
  request: RunRequest;
  hostname: string;
  /** Its cgroups (limits): the exec'd command joins them. */
  cgroup?: { paths: Partial<Record<string, string>> };
}

/**
 * The helper's plan for `req` in the sandbox of `record`, whose command is `target`, under
 * the same seccomp filter as that command (`seccomp`: its plan words). Pure.
 */
export function execArgs(record: ExecSandbox, image: ExecImageConfig, req: ExecPlanRequest, target: number, seccomp: string[] = []): string[] {
  const env = buildEnv(image, { ...record.request, tty: req.tty, env: { ...record.request.env, ...req.env } }, record.hostname);
  const args = [Flag.target, String(target), Flag.network, networkDriver(record.request.network).launchDriver];
  if (record.cgroup) args.push(...cgroupWords(Object.values(record.cgroup.paths).filter((d): d is string => !!d)));
  if (req.tty) args.push(Flag.tty);
  if (req.tty && req.interactive) args.push(Flag.stdin);
  const workdir = req.workdir ?? record.request.workdir ?? image.workingDir;
  if (workdir) args.push(Flag.chdir, workdir);
  const user = req.user ?? record.request.user ?? image.user;
  if (user) args.push(Flag.user, user);
  args.push(...groupArgs(record.request));
  for (const e of env) args.push(Flag.env, e);
  args.push(Flag.caps, commandCapabilities(record.request, req.privileged === true).join(','));
  if (record.request.noNewPrivileges) args.push(Flag.noNewPrivs);
  args.push(...rlimitArgs(record.request.ulimits)); // exec'd commands live under the sandbox's limits
  if (record.request.oomScoreAdj !== undefined) args.push(Flag.oomScoreAdj, String(record.request.oomScoreAdj));
  args.push(...seccomp);
  args.push('--', ...req.command);
  return args;
}
