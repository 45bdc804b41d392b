/**
 * Running a sandbox in the foreground: resolve the root, record the sandbox, build the
 * launch plan, start the native helper, wait, record the end (or remove it all for
 * `--rm`). Detached sandboxes and the rest of the lifecycle build on the same steps.
 */
import { chmodSync, mkdirSync, readdirSync, readlinkSync, writeFileSync, existsSync, statSync, rmSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_IMAGE, type RunRequest } from '../types.js';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { ensureStoreDir } from '../state/store-dirs.js';
import { createSandboxRecord, nameFilePath, newSandboxId, releaseName, writeRecord, type SandboxRecord } from '../state/sandboxes.js';
import { netHelpersFor } from '../network/helper-files.js';
import { attachSocketPath, sandboxDir, exitFilePath, monitorFilePath, pidFilePath, sandboxDirs, sandboxLogFile } from '../state/sandbox-dir.js';
import { resolveHealthcheck } from '../state/health.js';
import { healthRunner, resetHealth } from './healthcheck.js';
import { processStartTime } from '../state/liveness.js';
import { appendEvent, eventsPath } from '../state/events.js';
import {
  buildEnv, buildLaunchArgs, dirsToCreate, resolveCommand, type HostRootEntry, type ImageRunConfig,
  type LaunchInput, type RootSource,
} from '../runtime/plan.js';
import { helperPath } from '../runtime/host-tools.js';
import { networkDriver, requireNetworkTools } from '../network/driver.js';
import { hostNameFiles, sandboxNameFiles, withNetworkHosts } from '../network/name-files.js';
import { checkNetworksExist, joinNetworks, leaveNetworksOf } from './networks.js';
import { publishAllExposed } from '../network/port-spec.js';
import { runHelper, startDetachedHelper } from '../runtime/launch.js';
import { callerHardLimits, checkUlimitsAllowed } from '../runtime/rlimits.js';
import { userIdMaps, removeTree } from '../runtime/userns.js';
import { readImageIndex, resolveImage, sandboxImageFields } from '../images/store.js';
import { containerEnvContent, engineName } from '../runtime/containerenv.js';
import { runConfigOf } from '../images/config.js';
import { parseSignal } from '../runtime/signals.js';
import { pullForRun } from './pull-policy.js';
import { checkPidFiles, writePidFiles } from './pidfile.js';
import { lookupHostUser } from '../runtime/host-users.js';
import { checkCidFile, writeCidFile } from './cidfile.js';
import type { ProgressSink } from '../images/registry/progress.js';
import { sandboxSeccompRules, seccompProfileOf, seccompStartWords, writeSeccompRules } from '../runtime/seccomp/sandbox-filter.js';
import { IMAGE_SECCOMP_LABEL, imageSeccompProfile } from '../runtime/seccomp/image-policy.js';
import { effectiveCapabilities } from '../runtime/capabilities.js';
import { commandCapabilities } from '../runtime/capabilities.js';
import { devicesToBind, resolveDevices } from '../runtime/devices.js';
import { copyOnWrite, requireFuseOverlayfs } from '../runtime/cow.js';
import { realBindSources, removeAnonymousVolumes, resolveVolumeMounts } from './volumes.js';
import { joinedNetwork, resolveNetworkJoin } from './network-join.js';
import { checkLimits, endCgroup, startCgroup, sweepStrayCgroups, withPidsRlimit } from '../runtime/cgroup/sandbox.js';
import { addHostUserEntries, addKeepIdEntries, chownVolumes, createWithSlice, planIdMappings, sandboxUserIds } from './userns-setup.js';
import { scopePrefix } from '../runtime/cgroup/scope.js';
import { holdLifeline, lifelineInput, sweepOwnerless } from './sdk/lifeline.js';

export { HOST_IMAGE } from '../types.js';

/** Logs of detached sandboxes rotate past this size (one old file is kept), as `--log-opt max-size`. */
export const DEFAULT_LOG_MAX_SIZE = 64 * 1024 * 1024;

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
  /** Where a pull that `--pull` asks for shows its progress (default: nowhere). */
  pullProgress?: ProgressSink;
  /**
   * Bind a detached start to this process (api/sdk/lifeline.ts): the sandbox ends, at
   * once, when this process does, and the next command removes what is left. What the
   * API's non-detached sandboxes use; `run -d` does not.
   */
  ownerLifeline?: boolean;
}

function hostRootEntries(): HostRootEntry[] {
  return readdirSync('/', { withFileTypes: true }).map((d) => {
    if (d.isSymbolicLink()) return { name: d.name, type: 'symlink' as const, target: readlinkSync(join('/', d.name)) };
    return { name: d.name, type: d.isDirectory() ? ('dir' as const) : ('other' as const) };
  });
}

export interface ResolvedRoot {
  root: RootSource;
  image: ImageRunConfig;
  imageId?: string;
}

export function resolveRoot(paths: StorePaths, request: RunRequest): ResolvedRoot {
  if (request.rootfs) {
    let isDir = false;
    try { isDir = statSync(request.rootfs).isDirectory(); } catch { isDir = false; }
    if (!isDir) throw new SandboxError(`--rootfs ${request.rootfs}: not a directory`, { hint: 'give the directory holding the root filesystem' });
    // Symlinks resolved here, as for binds (realBindSources): the helper reaches it from aside.
    return { root: { kind: 'layers', lowers: [realpathSync(request.rootfs)] }, image: { env: [] } };
  }
  if (request.image === HOST_IMAGE) {
    return { root: { kind: 'host', entries: hostRootEntries() }, image: { env: [], cmd: ['/bin/sh'] } };
  }
  const resolved = resolveImage(paths, request.image);
  return { root: { kind: 'layers', lowers: resolved.lowers, base: resolved.base }, image: runConfigOf(resolved.config), imageId: resolved.record.id };
}

/** /run/.containerenv of a launch (runtime/containerenv.ts): the image's name is looked up only when it is shown (--privileged). */
function containerEnvFor(paths: StorePaths, record: SandboxRecord): string {
  if (!record.request.privileged) return '';
  const image = sandboxImageFields(paths, record);
  return containerEnvContent({
    privileged: true, name: record.name, id: record.id, image: image.ImageName, imageId: image.Image,
    engine: engineName(), rootless: process.getuid?.() !== 0,
  });
}

interface PreparedLaunch {
  helper: string;
  args: string[];
  /** systemd-run's words before the helper (runtime/cgroup/scope.ts), when its cgroup needs them. */
  prefix?: string[];
}

/** The per-launch part of the launch input: how this start differs from any other. */
type LaunchExtras = Pick<LaunchInput, 'cleanup' | 'statusFd' | 'dieWithParent' | 'log' | 'exitFile' | 'detached' | 'ownerLifeline'>;

/**
 * Everything before the helper starts, for a sandbox whose record exists: tools,
 * root, id maps, the files it gets (/etc/hosts, ...), its directories, the plan.
 */
async function prepareLaunch(
  paths: StorePaths, record: SandboxRecord, hooks: RunHooks, extras: LaunchExtras, resolved?: ResolvedRoot,
): Promise<PreparedLaunch> {
  const { request, hostname } = record;
  const network = networkDriver(request.network);
  const networkTools = requireNetworkTools(network);
  const helper = helperPath();
  // A restarted sandbox keeps the image it was created from, even if the tag moved since.
  const { root, image } = resolved ?? resolveRoot(paths, record.imageId ? { ...request, image: record.imageId } : request);
  // An id mode's root is fuse-overlayfs, which shows the image's ids through its maps (userns-setup.ts).
  const cow = record.idMappings ? requireFuseOverlayfs(`--userns=${record.idMappings.mode}`) : await copyOnWrite(paths);
  const fuseOverlayfs = cow.mode === 'fuse' ? cow.fuseOverlayfs : undefined;
  const maps = userIdMaps();
  if (maps.degraded) hooks.warn?.(`only your own user id is mapped into the sandbox: ${maps.degraded}`);
  const dirs = sandboxDirs(sandboxDir(paths, record.id));
  for (const d of dirsToCreate(root, dirs, !!fuseOverlayfs)) mkdirUnder(dirs.dir, d);
  const networkJoin = request.network === 'bridge' ? await joinNetworks(paths, record) : undefined;
  const joined = await joinedNetwork(paths, record, hooks); // --network container:ID, pods: the target runs
  // A joined network's name files start from the other sandbox's (its resolv.conf).
  const nameHost = joined?.nameFiles ?? hostNameFiles;
  // Only on --internal networks: no name server can be reached, as with --network none.
  const modeNames = (networkJoin && !networkJoin.outside ? networkDriver('none') : network).names({ request, host: nameHost });
  const names = sandboxNameFiles({
    request, hostname, name: record.name, host: nameHost,
    // On user-defined networks its own line is its address there, not the outside's (slirp4netns').
    network: networkJoin?.ownAddress ? { ...modeNames, ownAddress: networkJoin.ownAddress } : modeNames,
  });
  if (names.hosts !== undefined) writeFileSync(dirs.hosts, networkJoin ? withNetworkHosts(names.hosts, networkJoin.hosts) : names.hosts);
  writeFileSync(dirs.hostname, `${hostname}\n`);
  if (names.resolvConf !== undefined) writeFileSync(dirs.resolvConf, names.resolvConf);
  writeFileSync(dirs.containerEnv, containerEnvFor(paths, record));
  resetHealth(paths, record);
  const netHelpers = netHelpersFor(paths, record.id);
  const cgroup = startCgroup(paths, record); // limits: the cgroups made, the limits written
  const health = request.healthcheck?.intervalMs ? { healthCheck: { intervalMs: request.healthcheck.intervalMs, runner: healthRunner(paths, record.id) } } : {};
  addKeepIdEntries(record.idMappings, root, dirs.upper);
  addHostUserEntries(request.hostUsers, request.workdir ?? image.workingDir ?? '/', root, dirs.upper);
  const owned = request.volumes.some((v) => v.kind === 'bind' && v.chown) || request.tmpfs.some((t) => t.chown);
  const userIds = owned ? sandboxUserIds(request, image.user, root) : undefined;
  if (userIds) await chownVolumes(realBindSources(request), userIds, record.idMappings);
  // A nested sandbox's root is another id than yours: it reaches these through a descriptor
  // of the directory (helpers/launch/nested.c), which it must be able to search.
  if (record.idMappings) openToSandboxIds(dirs.dir, [dirs.merged, dirs.hosts, dirs.hostname, dirs.resolvConf, dirs.containerEnv]);
  const args = buildLaunchArgs({
    request: realBindSources(request), image, root, dirs, hostname,
    ...(userIds ? { userIds } : {}),
    ...(record.idMappings ? { innerMaps: { uid: record.idMappings.uid, gid: record.idMappings.gid } } : {}),
    uidMaps: maps.uid, gidMaps: maps.gid, ...(maps.tools ? { mapTools: maps.tools } : {}),
    capabilities: commandCapabilities(request),
    devices: devicesToBind(request),
    pidFile: pidFilePath(paths, record.id),
    monitorFile: monitorFilePath(paths, record.id),
    releaseName: { file: nameFilePath(paths, record.name), id: record.id },
    events: { file: eventsPath(paths), id: record.id, name: record.name },
    attachSocket: attachSocketPath(paths, record.id),
    ...extras,
    networkTools,
    ...(networkJoin ? { networkJoin } : {}),
    ...(netHelpers ? { netHelpers } : {}),
    ...(joined ? { networkJoinPid: joined.pid, networkJoinNamespaces: joined.namespaces } : {}),
    ...health,
    ...(fuseOverlayfs ? { fuseOverlayfs } : {}),
    ...(cgroup ? { cgroup } : {}),
    seccomp: seccompStartWords(paths, dirs.dir, request),
  });
  // cgroup v2 from outside user@UID.service: the monitor starts in a scope of the user's manager.
  const prefix = scopePrefix(record.cgroup, record.id, 'run');
  return { helper, args, ...(prefix ? { prefix } : {}) };
}

/** The sandbox's directory searchable (its parents stay private), its files readable. */
function openToSandboxIds(dir: string, files: string[]): void {
  chmodSync(dir, 0o711);
  for (const f of files) {
    try { chmodSync(f, statSync(f).isDirectory() ? 0o755 : 0o644); } catch { /* not made for this sandbox */ }
  }
}

/**
 * Creates `path` and its parents below `base`, never `base` itself: a sandbox whose
 * directory `rm` took away meanwhile must not get a new one (a start would then run
 * from a directory no record describes).
 */
function mkdirUnder(base: string, path: string): void {
  const rest = path.slice(base.length + 1).split('/');
  let dir = base;
  for (const part of rest) {
    dir = `${dir}/${part}`;
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SandboxError('the sandbox was removed while it was being started', { hint: 'list them with `sandbox ps -a`' });
      if (code !== 'EEXIST') throw err;
    }
  }
}

function withImageDefaults(request: RunRequest, image: ImageRunConfig): RunRequest {
  const labels = { ...image.labels, ...request.labels };
  let stopSignal = request.stopSignal;
  if (stopSignal === undefined && image.stopSignal) {
    try { stopSignal = parseSignal(image.stopSignal); } catch { stopSignal = undefined; /* an image's odd StopSignal: keep TERM */ }
  }
  const { healthcheck: _, ...rest } = request;
  const healthcheck = resolveHealthcheck(request.healthcheck, image.healthcheck);
  return { ...rest, labels, ...(stopSignal !== undefined ? { stopSignal } : {}), ...(healthcheck ? { healthcheck } : {}) };
}

/**
 * The ports the sandbox publishes, each with its host port: -P adds the image's EXPOSEd
 * ports and --expose's, and a host port left to us is chosen now, once, for every start.
 */
async function withPublishedPorts(request: RunRequest, image: ImageRunConfig): Promise<RunRequest> {
  if (!request.ports?.length && !request.publishAll) return request;
  const wanted = request.publishAll ? publishAllExposed(request.ports ?? [], [...image.exposedPorts ?? [], ...request.expose ?? []]) : request.ports ?? [];
  if (wanted.every((m) => m.hostPort)) return { ...request, ...(wanted.length ? { ports: wanted } : {}) };
  const { assignHostPorts } = await import('../network/free-ports.js'); // node:net and node:dgram: only when a port is ours to choose
  const ports = await assignHostPorts(wanted);
  return { ...request, ...(ports.length ? { ports } : {}) };
}

/** Where the monitor writes the output (--log-driver, --log-opt): none with --log-driver none. */
function logPlan(paths: StorePaths, record: SandboxRecord, tee: boolean): Pick<LaunchExtras, 'log'> {
  const path = sandboxLogFile(paths, record);
  if (!path) return {};
  const { logMaxSize, logMaxFiles } = record.request;
  return { log: { path, maxSize: logMaxSize ?? DEFAULT_LOG_MAX_SIZE, ...(tee ? { tee } : {}), ...(logMaxFiles === 1 ? { dropOld: true } : {}) } };
}

/** Validates the request and writes the sandbox's first record (status `created`); `create` stops here. */
export async function createSandbox(paths: StorePaths, request: RunRequest, hooks: RunHooks = {}): Promise<SandboxRecord> {
  return (await recordSandbox(paths, request, hooks, false)).record;
}

/**
 * createSandbox, also handing back the root it resolved, so that a first start need not
 * resolve it again. `startsNow` (run, not create): a `--rm` record names this process as
 * its creator, so that one it never got to start is known to be abandoned (isAbandoned).
 */
async function recordSandbox(
  paths: StorePaths, given: RunRequest, hooks: RunHooks, startsNow = true,
): Promise<{ record: SandboxRecord; root: ResolvedRoot }> {
  await sweepOwnerless(paths); // what sandboxes whose starter died left (one readdir when nothing)
  const request = await resolveNetworkJoin(paths, given); // container:NAME, --pod: the ids they join
  networkDriver(request.network); // a mode without a driver yet is refused before anything is pulled or written
  checkNetworksExist(paths, request);
  if (request.cidFile) checkCidFile(request.cidFile);
  checkPidFiles(request);
  for (const u of request.hostUsers ?? []) lookupHostUser(u); // an unknown user is refused before anything is made
  if (request.ulimits?.length) checkUlimitsAllowed(request.ulimits, callerHardLimits()); // one line now, not the helper's EPERM at start
  const id = newSandboxId();
  const limits = checkLimits(request, id, hooks.warn); // a limit nothing can enforce is refused before anything is pulled or written
  // --device: checked against the host as the caller, a directory expanded to its devices (the record keeps those).
  const devices = request.devices ? { devices: resolveDevices(request.devices, request.groupAdd?.includes('keep-groups') ?? false) } : {};
  await pullForRun(paths, request, hooks.pullProgress);
  const root = resolveRoot(paths, request);
  const { image, imageId } = root;
  const command = resolveCommand(image, request);
  // Volumes become binds of their directories (created on first use); the record keeps those.
  // The image's labels and stop signal apply unless the run flags say otherwise, as in Docker.
  const published = withPidsRlimit(await withPublishedPorts(withImageDefaults(resolveVolumeMounts(paths, { ...request, ...devices }), image), image), limits);
  const fromImage = imageSeccompProfile(published, image.labels, request.image); // --seccomp-policy=image: the image's profile
  const { request: resolved, mappings } = planIdMappings(fromImage?.request ?? published, root.root); // --userns, --uidmap: the maps it gets
  const record: SandboxRecord = {
    id,
    name: request.name ?? `sandbox-${id.slice(0, 12)}`,
    created: new Date().toISOString(),
    image: request.rootfs ?? request.image,
    ...(imageId ? { imageId } : {}),
    command,
    hostname: request.hostname ?? id.slice(0, 12),
    request: resolved,
    state: { status: 'created', ...(request.remove && startsNow ? { creator: { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 } } : {}) },
    imageConfig: { env: image.env, ...(image.user ? { user: image.user } : {}), ...(image.workingDir ? { workingDir: image.workingDir } : {}) },
    ...limits,
    ...(mappings ? { idMappings: mappings } : {}),
  };
  buildEnv(image, resolved, record.hostname); // an environment over a kernel limit is refused before anything is kept
  // A profile file is read now (a bad one refused before anything is kept), and its rules kept
  // with the sandbox; the default's are made at the first start, when the cache has none.
  const seccompRules = fromImage ? sandboxSeccompRules(resolved, { text: fromImage.text, source: `of image ${request.image} (its ${IMAGE_SECCOMP_LABEL} label)` })
    : seccompProfileOf(resolved) === 'default' ? undefined : sandboxSeccompRules(resolved);
  ensureStoreDir(paths, 'data');
  try {
    await createWithSlice(paths, record, () => (request.replace ? createReplacing(paths, record) : createSandboxRecord(paths, record)));
  } catch (err) {
    await removeAnonymousVolumes(paths, resolved).catch(() => {});
    throw err;
  }
  if (seccompRules !== undefined) writeSeccompRules(sandboxDir(paths, record.id), seccompRules);
  // An `rmi` that ran since the image was resolved: it removes the image from the index
  // first and looks for sandboxes second, so either it saw this record (and kept the
  // image) or the image is gone from the index now. Never start on layers being removed.
  if (imageId && !readImageIndex(paths).images[imageId]) {
    await removeLeftovers(paths, record);
    throw new SandboxError(`image ${request.image} was removed while the sandbox was being created`, { hint: 'pull, load or import it again' });
  }
  appendEvent(paths, { type: 'container', action: 'create', id: record.id, name: record.name, attributes: { image: record.image } });
  if (request.cidFile) {
    try {
      writeCidFile(request.cidFile, record.id);
    } catch (err) {
      await removeLeftovers(paths, record);
      throw err;
    }
  }
  return { record, root };
}

/**
 * `--replace`: the sandbox holding the name is removed (killed if running, as `rm -f`),
 * then the name is taken; against a racing `run --replace` of the same name, again, a
 * few times: each run that succeeds had its sandbox, and the last one stays.
 */
async function createReplacing(paths: StorePaths, record: SandboxRecord): Promise<void> {
  const { removeSandbox } = await import('./lifecycle.js'); // not on run's usual path
  for (let attempt = 0; ; attempt++) {
    try {
      await removeSandbox(paths, record.name, { force: true });
    } catch (err) {
      if (!(err instanceof SandboxError) || !/^no such sandbox/.test(err.message)) throw err;
    }
    try {
      await createSandboxRecord(paths, record);
      return;
    } catch (err) {
      if (attempt >= 20 || !(err instanceof SandboxError) || !err.message.startsWith(`the name "${record.name}" is already in use`)) throw err;
    }
  }
}

/** Removes what a `--rm` sandbox left when its helper could not (setup failed early). */
async function removeLeftovers(paths: StorePaths, record: SandboxRecord): Promise<void> {
  const dir = sandboxDir(paths, record.id);
  if (existsSync(dir)) await removeTree(dir).catch(() => {});
  releaseName(paths, record.name, record.id);
  await removeAnonymousVolumes(paths, record.request).catch(() => {});
  await leaveNetworksOf(paths, record).catch(() => {});
  await endCgroup(record).catch(() => {});
}

/** Runs a sandbox in the foreground and returns when it has ended. */
export async function runForeground(paths: StorePaths, request: RunRequest, hooks: RunHooks = {}): Promise<RunOutcome> {
  const { record, root } = await recordSandbox(paths, request, hooks);
  let exitCode: number;
  // Detached (the detach keys, or a signal with --sig-proxy=false): it runs on, as after `run -d`.
  let detached = false;
  try {
    // A sandbox that is kept keeps its output for `logs`, as with Docker; a --rm one
    // has its output go straight to the terminal (nothing to keep, no copy on the way).
    const { helper, args, prefix } = await prepareLaunch(paths, record, hooks, {
      cleanup: request.remove, statusFd: 3, dieWithParent: process.pid,
      ...(request.remove ? {} : logPlan(paths, record, true)),
      // Where the end is recorded should the run be detached and outlive us.
      exitFile: exitFilePath(paths, record.id),
    }, root);
    let started = false;
    exitCode = await runHelper(helper, args, {
      stdin: request.interactive ? 'inherit' : 'ignore',
      forwardSignals: !!hooks.forwardSignals,
      ...(request.preserveFds ? { preserveFds: request.preserveFds } : {}),
      ...(request.attach && !request.tty ? { detachedStreams: { stdout: !request.attach.includes('stdout'), stderr: !request.attach.includes('stderr') } } : {}),
      ...(prefix ? { prefix } : {}),
      onStatus: (s) => {
        // Recorded as running even with --rm: `rm` must refuse it, `ps` must list it.
        // The helper is its monitor, here as for detached sandboxes: stop and kill go through it.
        if (s.pid !== undefined) {
          record.state = {
            status: 'running', pid: s.pid, startedAt: new Date().toISOString(),
            ...(s.monitorPid !== undefined ? { monitorPid: s.monitorPid, monitorStartTime: processStartTime(s.monitorPid) } : {}),
          };
          try {
            writeRecord(paths, record);
          } catch (err) {
            // A --rm sandbox that ended before we got here has removed its directory already.
            if (!request.remove || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
          if (record.cgroup) setImmediate(() => sweepStrayCgroups(paths, record)); // while it runs: what crashed sandboxes left
        }
        if (s.started) {
          started = true;
          appendEvent(paths, { type: 'container', action: 'start', id: record.id, name: record.name });
          if (record.state.status === 'running') writePidFiles(request, record.state.pid, record.state.monitorPid, hooks.warn);
        }
        if (s.detached) detached = true;
      },
    });
    if (detached) return { id: record.id, name: record.name, exitCode: 0 };
    if (!request.remove) {
      record.state = {
        ...record.state, status: 'exited', exitCode, finishedAt: new Date().toISOString(),
        ...(started ? {} : { error: 'the sandbox could not be set up' }),
      };
      try {
        writeRecord(paths, record);
      } catch (err) {
        // Removed meanwhile (`rm -f`, which ended it): nothing to record.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(sandboxDir(paths, record.id))) throw err;
      }
    }
  } finally {
    if (request.remove && !detached) await removeLeftovers(paths, record);
  }
  return { id: record.id, name: record.name, exitCode };
}

/**
 * Starts a sandbox that already has a record (new with `run -d`, or exited, for
 * `start`) in the background: its monitor keeps running after we return, writes the
 * output to the log and the end to the exit file.
 */
export async function startDetached(
  paths: StorePaths, record: SandboxRecord, hooks: RunHooks = {}, root?: ResolvedRoot,
): Promise<SandboxRecord> {
  const dir = sandboxDir(paths, record.id);
  rmSync(exitFilePath(paths, record.id), { force: true });
  const { helper, args, prefix } = await prepareLaunch(paths, record, hooks, {
    cleanup: record.request.remove,
    statusFd: 3,
    ...logPlan(paths, record, false),
    exitFile: exitFilePath(paths, record.id),
    detached: true,
    ...(hooks.ownerLifeline ? { ownerLifeline: lifelineInput(paths, record.id) } : {}),
  }, root);
  const started = await startDetachedHelper(helper, args, prefix, !!hooks.ownerLifeline);
  if (started.lifeline) holdLifeline(record.id, started.lifeline);
  record.state = {
    status: 'running',
    pid: started.initPid,
    monitorPid: started.monitorPid,
    monitorStartTime: processStartTime(started.monitorPid),
    startedAt: new Date().toISOString(),
  };
  // A --rm sandbox that already ended is removing its directory (its init empties it
  // while we write, so our temp file may vanish before the directory does), as is one
  // that `rm -f` took away: nothing to record.
  try {
    writeRecord(paths, record);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (!record.request.remove && existsSync(dir))) throw err;
  }
  appendEvent(paths, { type: 'container', action: 'start', id: record.id, name: record.name });
  writePidFiles(record.request, started.initPid, started.monitorPid, hooks.warn);
  sweepStrayCgroups(paths, record); // what crashed sandboxes left beside its cgroups
  return record;
}

/**
 * Whether a sandbox whose start failed is being removed by someone else (a racing
 * `run --replace` kills its monitor first, then takes the directory away): waits for
 * that a little, on this error path only.
 */
async function removedMeanwhile(paths: StorePaths, id: string): Promise<boolean> {
  const dir = sandboxDir(paths, id);
  for (let i = 0; i < 40; i++) {
    if (!existsSync(dir)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** `run -d`: creates the sandbox and starts it in the background. */
export async function runDetached(paths: StorePaths, request: RunRequest, hooks: RunHooks = {}): Promise<SandboxRecord> {
  const { record, root } = await recordSandbox(paths, request, hooks);
  try {
    return await startDetached(paths, record, hooks, root);
  } catch (err) {
    if (request.replace && await removedMeanwhile(paths, record.id)) {
      // Another `run --replace --name` of the same name removed it before it started.
      throw new SandboxError(`sandbox ${record.name} was replaced by another --replace meanwhile`, { hint: `it runs as ${record.name} now; see \`sandbox ps\``, cause: err });
    }
    if (request.remove) await removeLeftovers(paths, record);
    else {
      record.state = { status: 'exited', exitCode: err instanceof SandboxError ? err.exitCode : 125, finishedAt: new Date().toISOString(), error: err instanceof Error ? err.message : String(err) };
      try { writeRecord(paths, record); } catch { /* removed meanwhile: the error above is the one to report */ }
    }
    throw err;
  }
}

