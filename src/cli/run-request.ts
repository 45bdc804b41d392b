/**
 * Validation of `sandbox run` (and `create`) options: the plain data `parseRunArgv`
 * (run-option-table.ts) makes of the words becomes a RunRequest, or a one-line error with
 * a hint. Pure: files are read, the environment and cwd come, through a context.
 *
 *   const request = toRunRequest(parseRunArgv(words, 'run'), { env: process.env, cwd: process.cwd(),
 *     readFile: (p) => readFileSync(p, 'utf8'), stdinIsTTY: process.stdin.isTTY, warn });
 */
import { namedNetworks } from './network-option.js';
import { SandboxError, clipped } from '../errors.js';
import { HOST_NAME_MAX } from '../runtime/limits.js';
import { containerPath, hostPath, type PathContext } from './run-paths.js';
import { checkName, NAME_PATTERN } from '../state/names.js';
import { containerNetworkTarget } from '../network/container.js';
import type { LogDriver, NetworkMode, RunRequest, TmpfsSpec, VolumeSpec } from '../types.js';
import { parseHealthArgs } from './health-options.js';
import { parseLabel } from '../labels.js';
import { parseEnvAssignment, parseEnvFile } from './env-file.js';
import { parseMount } from './mount-option.js';
import { availableParallelism } from 'node:os';
import { limitArgsFrom, parseCgroupOptions, parseLimitOptions } from './limit-options.js';
import { parseSeccompPolicy } from '../runtime/seccomp/image-policy.js';
import { checkGpusValue, hostGpuDevices } from '../runtime/gpus.js';
import { normalizeCapability } from '../runtime/capabilities.js';
import { parseSignal } from '../runtime/signals.js';
import { parseNetworkOption } from '../network/driver.js';
import { DEFAULT_NETWORK, runUsage, type RunArgs, type RunVerb } from './run-option-table.js';
import { parseDetachKeys } from '../runtime/detach-keys.js';
import { parseNameArgs } from './name-options.js';
import { checkUsernsJoin, usernsRequest } from '../runtime/userns-mode.js';
import { parseExpose, parsePublishes } from '../network/port-spec.js';
import { parseUlimits } from '../runtime/rlimits.js';
import { parseDevice } from '../runtime/devices.js';
import { timezoneFile } from '../runtime/timezone.js';

export interface RunOptionsContext {
  /** The caller's environment: `-e K` and env-file `K` lines copy from it; HOME for `~`. */
  env: NodeJS.ProcessEnv;
  /** Absolute directory that relative paths (`-v ./x:/x`, `--rootfs`, `--env-file`) start from. */
  cwd: string;
  /** Reads a file as UTF-8 (injected; throws as fs does). */
  readFile: (path: string) => string;
  /** Which verb the messages name; default `run`. */
  verb?: RunVerb;
  /** Whether stdin is a terminal; `-it` without one gets a warning (as Podman does). */
  stdinIsTTY?: boolean;
  /** Receives warnings (one line, without a `sandbox:` prefix). */
  warn?: (message: string) => void;
}

const HOSTNAME_LABEL_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const MAX_ID = 2 ** 32;

/** Yargs gives an array when a single-valued option is repeated: the last one wins. */
function last(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length ? String(value[value.length - 1]) : undefined;
  return value === undefined || value === null ? undefined : String(value);
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function validateName(name: string): string {
  return checkName(name, 'sandbox');
}

export function validateHostname(hostname: string): string {
  if (hostname.length > HOST_NAME_MAX) {
    throw new SandboxError(`hostname "${clipped(hostname)}" is ${hostname.length} characters long: the limit is ${HOST_NAME_MAX} (HOST_NAME_MAX)`, {
      hint: 'give a shorter --hostname',
    });
  }
  if (!hostname.split('.').every((label) => HOSTNAME_LABEL_RE.test(label))) {
    throw new SandboxError(`invalid hostname ${JSON.stringify(hostname)}`, {
      hint: 'at most 64 characters: labels of letters, digits and "-" (not at either end), separated by "."',
    });
  }
  return hostname;
}

/** `UID[:GID]` or `NAME[:GROUP]` (mixed is fine): non-empty parts, numbers below 2^32. */
export function validateUser(user: string): string {
  const hint = 'use -u UID[:GID] or -u NAME[:GROUP], e.g. -u 1000:1000 or -u nobody';
  const parts = user.split(':');
  if (parts.length > 2) throw new SandboxError(`invalid user ${JSON.stringify(user)}: more than one ":"`, { hint });
  for (const [index, part] of parts.entries()) {
    if (part === '') throw new SandboxError(`invalid user ${JSON.stringify(user)}: empty ${index === 1 ? 'group' : 'user'}`, { hint });
    if (/^\d+$/.test(part)) {
      if (Number(part) >= MAX_ID) throw new SandboxError(`invalid user ${JSON.stringify(user)}: ${part} is not below 2^32`, { hint });
    } else if (/[\s\0/]/.test(part)) {
      throw new SandboxError(`invalid user ${JSON.stringify(user)}: ${JSON.stringify(part)} is not a user or group name`, { hint });
    }
  }
  return user;
}

/**
 * `--entrypoint`: `''` clears the image's entrypoint, a JSON array of strings is taken as
 * the argv (Podman), anything else is one executable, not split at spaces (Docker).
 */
export function parseEntrypoint(value: string): string[] {
  if (value === '') return [];
  if (value.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch {
      // not JSON: one executable, as Podman does
    }
  }
  return [value];
}

const VOLUME_MODES = ['ro', 'rw', 'z', 'Z', 'U'];
const VOLUME_HINT = 'use -v /host/dir:/dir[:ro], -v ./relative:/dir, -v NAME:/dir (a named volume) or -v /dir (an anonymous one)';

/** One `-v` value: a bind, a named volume, or an anonymous volume. */
export function parseVolume(spec: string, ctx: RunOptionsContext): VolumeSpec {
  const parts = spec.split(':');
  const invalid = (why: string, hint = VOLUME_HINT) => new SandboxError(`invalid volume ${JSON.stringify(spec)}: ${why}`, { hint });
  if (spec === '') throw invalid('empty');
  if (parts.length > 3) throw invalid('too many ":"');
  if (parts.length === 1) {
    return { kind: 'volume', name: '', target: volumeTarget(spec, spec), readOnly: false };
  }
  const [source, target, opts] = parts as [string, string, string | undefined];
  if (parts.length === 2 && target.split(',').every((o) => VOLUME_MODES.includes(o))) {
    throw invalid('an anonymous volume takes no options', 'give a source: -v NAME:/dir:ro or -v /host/dir:/dir:ro');
  }
  if (source === '') throw invalid('empty source');
  if (target === '') throw invalid('empty destination');
  let readOnly = false;
  let chown = false;
  if (opts !== undefined) {
    const seen = opts.split(',');
    for (const o of seen) {
      if (!VOLUME_MODES.includes(o)) {
        throw invalid(`unknown option ${JSON.stringify(o)}`, 'volume options are ro, rw, z, Z and U (comma-separated)');
      }
    }
    if (seen.filter((o) => o === 'ro' || o === 'rw').length > 1) throw invalid('more than one of ro and rw', 'give ro or rw once');
    if (seen.filter((o) => o === 'z' || o === 'Z').length > 1) throw invalid('more than one of z and Z', 'give z or Z once');
    readOnly = seen.includes('ro');
    chown = seen.includes('U');
    // z and Z (SELinux relabelling) are accepted and ignored.
  }
  const dst = volumeTarget(target, spec);
  const isPath = source.startsWith('/') || source === '.' || source === '..' || source.startsWith('./') ||
    source.startsWith('../') || source === '~' || source.startsWith('~/');
  const own = chown ? { chown: true } : {};
  if (isPath) return { kind: 'bind', source: hostPath(source, ctx, `-v ${spec}`), target: dst, readOnly, ...own };
  if (!NAME_PATTERN.test(source)) {
    throw invalid(
      `${JSON.stringify(source)} is neither a path nor a volume name`,
      'a host directory starts with "/", "./", "../" or "~/"; a volume name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*',
    );
  }
  return { kind: 'volume', name: checkName(source, 'volume'), target: dst, readOnly, ...own };
}

function volumeTarget(target: string, spec: string): string {
  const dst = containerPath(target, 'volume destination', VOLUME_HINT);
  if (dst === '/') throw new SandboxError(`invalid volume ${JSON.stringify(spec)}: cannot mount over "/"`, { hint: VOLUME_HINT });
  return dst;
}

const TMPFS_FLAG_GROUPS: readonly (readonly [string, string])[] = [
  ['rw', 'ro'],
  ['exec', 'noexec'],
  ['suid', 'nosuid'],
  ['dev', 'nodev'],
  ['tmpcopyup', 'notmpcopyup'],
];
const TMPFS_VALUES: Readonly<Record<string, RegExp>> = {
  size: /^\d+[kmgtpe]?$|^\d+%$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
};
const TMPFS_HINT = 'tmpfs options: size=N[k|m|g|%], mode=OCTAL, uid=N, gid=N, nr_inodes=N, ro|rw, exec|noexec, suid|nosuid, dev|nodev, tmpcopyup|notmpcopyup';

/**
 * One `--tmpfs PATH[:OPTIONS]`. Without options: rw,noexec,nosuid,nodev (Podman's
 * defaults); with options, rw, nosuid and nodev are added when not given otherwise.
 * Either way what the image has at PATH is copied in (tmpcopyup) unless notmpcopyup.
 */
export function parseTmpfs(spec: string): TmpfsSpec {
  const colon = spec.indexOf(':');
  const path = colon < 0 ? spec : spec.slice(0, colon);
  const target = containerPath(path, '--tmpfs path', 'use --tmpfs /PATH[:OPTIONS], e.g. --tmpfs /run:size=64m');
  if (target === '/') throw new SandboxError(`invalid --tmpfs ${JSON.stringify(spec)}: cannot mount over "/"`, { hint: 'to make the root writable, leave out --read-only' });
  if (colon < 0) return { target, options: ['rw', 'noexec', 'nosuid', 'nodev', 'tmpcopyup'] };
  const options = spec.slice(colon + 1).split(',');
  const keys = new Set<string>();
  for (const option of options) {
    const invalid = (why: string) => new SandboxError(`invalid --tmpfs ${JSON.stringify(spec)}: ${why}`, { hint: TMPFS_HINT });
    const eq = option.indexOf('=');
    if (eq >= 0) {
      const key = option.slice(0, eq);
      const value = option.slice(eq + 1);
      const re = TMPFS_VALUES[key];
      if (!re) throw invalid(`unknown option ${JSON.stringify(option)}`);
      if (!re.test(value)) throw invalid(`bad value in ${JSON.stringify(option)}`);
      if ((key === 'uid' || key === 'gid') && Number(value) >= MAX_ID) throw invalid(`${key} ${value} is not below 2^32`);
      if (keys.has(key)) throw invalid(`${key}= given twice`);
      keys.add(key);
      continue;
    }
    const group = TMPFS_FLAG_GROUPS.find((g) => g.includes(option));
    if (!group) throw invalid(option === '' ? 'empty option' : `unknown option ${JSON.stringify(option)}`);
    if (keys.has(group[0])) throw invalid(`more than one of ${group[0]} and ${group[1]}`);
    keys.add(group[0]);
  }
  const out = [...options];
  for (const [flag, dflt] of [['rw', 'rw'], ['suid', 'nosuid'], ['dev', 'nodev'], ['tmpcopyup', 'tmpcopyup']] as const) {
    if (!keys.has(flag)) out.push(dflt);
  }
  return { target, options: out };
}

/** What the `--security-opt` values of one run ask for. */
export interface SecurityOpts {
  noNewPrivileges: boolean;
  /** The values as given, for inspect's HostConfig.SecurityOpt. */
  given: string[];
  maskPaths: string[];
  unmaskPaths: string[];
  /** seccomp=unconfined, or the profile's absolute path (RunRequest.seccomp). */
  seccomp?: string;
}

const SECURITY_HINT = 'supported: no-new-privileges[=true|false], label=disable|nested|user:U|role:R|type:T|level:L|filetype:T, mask=/P[:/P...], unmask=ALL|/P[:/P...], seccomp=unconfined|PROFILE.json, apparmor=unconfined';

function securityPaths(value: string, opt: string): string[] {
  return value.split(':').map((p) => {
    if (!p.startsWith('/')) throw new SandboxError(`invalid --security-opt ${JSON.stringify(opt)}: ${JSON.stringify(p)} is not an absolute path`, { hint: 'e.g. --security-opt mask=/proc/cpuinfo:/etc/shadow' });
    return containerPath(p, '--security-opt path', 'give absolute paths inside the sandbox, separated by ":"');
  });
}

/**
 * `--security-opt`, each value: no-new-privileges is applied; label=... is accepted and
 * does nothing (there is no SELinux labelling here: inspect says so); mask= and unmask=
 * change the masked paths; seccomp=unconfined drops the default seccomp filter and
 * seccomp=FILE replaces it (a path relative to ctx's cwd; the file is read at create);
 * apparmor=unconfined says what is the case anyway. AppArmor profiles and proc-opts are
 * not there yet.
 */
export function parseSecurityOpts(values: string[], ctx?: PathContext): SecurityOpts {
  const out: SecurityOpts = { noNewPrivileges: false, given: [], maskPaths: [], unmaskPaths: [] };
  for (const value of values) {
    const sep = value.search(/[=:]/);
    const key = sep < 0 ? value : value.slice(0, sep);
    const arg = sep < 0 ? undefined : value.slice(sep + 1);
    const unsupported = (why: string, hint: string) => new SandboxError(`--security-opt ${JSON.stringify(value)}: ${why}`, { hint });
    if (key === 'no-new-privileges' || key === 'no_new_privileges') {
      if (arg !== undefined && arg !== 'true' && arg !== 'false') throw unsupported('takes true or false', 'use --security-opt no-new-privileges (or =true|false)');
      out.noNewPrivileges = arg !== 'false';
    } else if (key === 'label') {
      if (arg === undefined || !/^(disable|nested|(user|role|type|level|filetype):.+)$/.test(arg)) {
        throw unsupported('not a label option', 'label=disable, label=nested, label=user:U, label=role:R, label=type:T, label=level:L or label=filetype:T');
      }
      // No SELinux labels are applied to sandboxes here: every label option is true as given.
    } else if (key === 'mask' && value[sep] === '=') {
      out.maskPaths.push(...securityPaths(arg ?? '', value));
    } else if (key === 'unmask' && value[sep] === '=') {
      if (arg === 'ALL') out.unmaskPaths.push('ALL');
      else out.unmaskPaths.push(...securityPaths(arg ?? '', value));
    } else if (key === 'seccomp') {
      if (!arg) throw unsupported('needs unconfined or a profile file', 'use --security-opt seccomp=unconfined or --security-opt seccomp=PROFILE.json');
      out.seccomp = arg === 'unconfined' ? arg : hostPath(arg, ctx ?? { env: process.env, cwd: process.cwd() }, '--security-opt seccomp');
    } else if (key === 'apparmor') {
      if (arg !== 'unconfined') {
        throw unsupported('apparmor profiles are not supported yet', 'meanwhile no AppArmor profile is applied (as apparmor=unconfined); limit what root inside can do with --cap-drop and --security-opt no-new-privileges');
      }
    } else if (key === 'proc-opts') {
      throw unsupported('proc-opts is not supported yet', 'meanwhile /proc is mounted with nosuid,nodev,noexec; leave it out');
    } else {
      throw new SandboxError(`unsupported --security-opt ${JSON.stringify(value)}`, { hint: SECURITY_HINT });
    }
    out.given.push(value);
  }
  return out;
}

const GROUP_HINT = 'use --group-add GID, --group-add NAME (a group of the image\'s /etc/group) or --group-add keep-groups';

/** `--group-add`: GIDs below 2^32, group names, or keep-groups alone (as Podman). */
export function parseGroupAdd(values: string[]): string[] {
  for (const g of values) {
    if (g === 'keep-groups') {
      if (values.length > 1) throw new SandboxError('--group-add keep-groups cannot be combined with other --group-add options', { hint: 'give keep-groups alone, or list the groups' });
    } else if (/^\d+$/.test(g)) {
      if (Number(g) >= MAX_ID) throw new SandboxError(`invalid --group-add ${JSON.stringify(g)}: not below 2^32`, { hint: GROUP_HINT });
    } else if (g === '' || /[\s\0:/,]/.test(g)) {
      throw new SandboxError(`invalid --group-add ${JSON.stringify(g)}: not a group id or name`, { hint: GROUP_HINT });
    }
  }
  return [...new Set(values)];
}

/** `--annotation KEY=VALUE` (a value may be empty; the key may not). */
export function parseAnnotation(value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new SandboxError(`invalid --annotation ${JSON.stringify(value)}: annotations must be KEY=VALUE`, { hint: 'e.g. --annotation org.example.owner=me' });
  return [value.slice(0, eq), value.slice(eq + 1)];
}

/** `--pod-id-file FILE`: the pod id `pod create --pod-id-file` wrote there. */
function readPodIdFile(path: string, ctx: RunOptionsContext): string {
  let text: string;
  try {
    text = ctx.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    throw new SandboxError(`cannot read the pod id file ${path}${code ? ` (${code})` : ''}`, { hint: 'give the file `sandbox pod create --pod-id-file` wrote', cause: err });
  }
  const id = text.trim();
  if (!/^[0-9a-f]{1,64}$/.test(id)) throw new SandboxError(`the pod id file ${path} holds no pod id`, { hint: 'give the file `sandbox pod create --pod-id-file` wrote' });
  return id;
}

/** `--network MODE[:OPTS]` (the network registry's parser, src/network/driver.ts). */
export function parseNetwork(value: string): NetworkMode {
  return parseNetworkOption(value).network;
}

/**
 * Validates and normalises parsed run options into a RunRequest. Pure: files are read
 * through `ctx.readFile`, the environment and cwd come from `ctx`.
 */
export function toRunRequest(parsed: RunArgs, ctx: RunOptionsContext): RunRequest {
  const verb = ctx.verb ?? 'run';
  const p = parsed as Record<string, unknown>;

  const rootfsArg = last(p.rootfs);
  let image = last(p.image);
  let command = list(p.command);
  let rootfs: string | undefined;
  if (rootfsArg !== undefined) {
    if (rootfsArg === '') throw new SandboxError('--rootfs needs a directory', { hint: `sandbox ${verb} --rootfs DIR COMMAND [ARG...]` });
    rootfs = hostPath(rootfsArg, ctx, '--rootfs');
    command = image === undefined ? command : [image, ...command];
    image = '';
  } else if (image === undefined || image === '') {
    throw new SandboxError(`"${verb}" requires an image`, { hint: runUsage(verb) });
  }

  const entrypointArg = last(p.entrypoint);
  const entrypoint = entrypointArg === undefined ? undefined : parseEntrypoint(entrypointArg);
  if (rootfs !== undefined && command.length === 0 && !entrypoint?.length) {
    throw new SandboxError(`"${verb}" with --rootfs requires a command`, { hint: `sandbox ${verb} --rootfs DIR COMMAND [ARG...]` });
  }

  // Environment: --env-host (all of the caller's, as Podman), files, then -e; a later setting wins.
  const env: Record<string, string> = {};
  if (p.envHost === true) {
    for (const [k, v] of Object.entries(ctx.env)) if (k !== '' && !k.includes('=') && v !== undefined) env[k] = v;
  }
  for (const file of list(p.envFile)) {
    const path = hostPath(file, ctx, '--env-file');
    let text: string;
    try {
      text = ctx.readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      throw new SandboxError(`cannot read env file ${file}${code ? ` (${code})` : ''}`, {
        hint: `check that ${path} exists and is readable`,
        cause: err,
      });
    }
    for (const [k, v] of parseEnvFile(text, ctx.env, file)) env[k] = v;
  }
  for (const e of list(p.env)) {
    const pair = parseEnvAssignment(e, ctx.env, `-e ${JSON.stringify(e)}`);
    if (pair) env[pair[0]] = pair[1];
  }

  // --mount's before -v's, as Podman keeps them (inspect's Mounts list them in this order).
  const volumes: VolumeSpec[] = [];
  const tmpfs: TmpfsSpec[] = [];
  for (const m of list(p.mount).map((spec) => parseMount(spec, ctx))) {
    if ('tmpfs' in m) tmpfs.push(m.tmpfs);
    else volumes.push(m.volume);
  }
  volumes.push(...list(p.volume).map((v) => parseVolume(v, ctx)));
  tmpfs.push(...list(p.tmpfs).map(parseTmpfs));
  const tz = last(p.tz);
  if (tz !== undefined) volumes.push({ kind: 'bind', source: timezoneFile(tz), target: '/etc/localtime', readOnly: true });
  const seen = new Set<string>();
  for (const target of [...volumes.map((v) => v.target), ...tmpfs.map((t) => t.target)]) {
    if (seen.has(target)) {
      throw new SandboxError(`duplicate mount point: ${target}`, { hint: 'give each -v / --mount / --tmpfs destination once' });
    }
    seen.add(target);
  }

  const security = parseSecurityOpts(list(p.securityOpt), ctx);
  const noNewPrivileges = security.noNewPrivileges;

  const labels: Record<string, string> = {};
  for (const l of list(p.label)) {
    const [k, v] = parseLabel(l);
    labels[k] = v;
  }

  const unique = (xs: string[]) => [...new Set(xs)];
  const capAdd = unique(list(p.capAdd).map(normalizeCapability));
  const capDrop = unique(list(p.capDrop).map(normalizeCapability));

  const workdirArg = last(p.workdir);
  const workdir = workdirArg === undefined
    ? undefined
    : containerPath(workdirArg, 'working directory', 'use -w /absolute/path (the path inside the sandbox)');
  const nameArg = last(p.name);
  const userArg = last(p.user);
  const hostnameArg = last(p.hostname);

  const interactive = p.interactive === true;
  const tty = p.tty === true;
  const detach = p.detach === true;
  // Docker refuses -it when stdin is not a terminal; Podman warns and goes on, which keeps
  // scripts that always pass -it working. We follow Podman. -t alone is fine for both.
  if (interactive && tty && !detach && ctx.stdinIsTTY === false) {
    ctx.warn?.('the input is not a terminal: -t gives the command a terminal anyway; use -i without -t to pipe data');
  }

  const named = namedNetworks(list(p.network), list(p.networkAlias));
  const request: RunRequest = {
    image: image as string,
    command,
    remove: p.rm === true,
    detach,
    interactive,
    tty,
    env,
    volumes,
    tmpfs,
    readOnly: p.readOnly === true,
    ...(named ? { network: 'bridge' as const } : containerNetworkTarget(last(p.network) ?? '') !== undefined ? { network: 'container' as const } : parseNetworkOption(last(p.network) ?? DEFAULT_NETWORK)),
    capAdd,
    capDrop,
    noNewPrivileges,
    labels,
  };
  if (named) request.networks = named;
  if (rootfs !== undefined) request.rootfs = rootfs;
  const joined = containerNetworkTarget(last(p.network) ?? '');
  if (joined !== undefined) request.networkContainer = joined; // the api resolves it to the sandbox's id
  // Ports belong to the network's owner (Podman refuses them here too): the pod's (`pod create -p`), the joined sandbox's.
  if ((joined !== undefined || last(p.pod) !== undefined) && (list(p.publish).length > 0 || p.publishAll === true)) {
    throw new SandboxError(`ports cannot be published by a sandbox that joins ${joined !== undefined ? 'another\'s network' : 'a pod'}`, {
      hint: joined !== undefined ? `publish them when you create ${joined}` : 'publish them when you create the pod: sandbox pod create -p ...',
    });
  }
  const podFile = last(p.podIdFile);
  if (podFile !== undefined && last(p.pod) !== undefined) throw new SandboxError('--pod and --pod-id-file cannot both be given', { hint: 'give one of them' });
  const podArg = podFile === undefined ? last(p.pod) : readPodIdFile(hostPath(podFile, ctx, '--pod-id-file'), ctx);
  if (podArg !== undefined) {
    if (!podArg) throw new SandboxError('--pod needs a pod name or id', { hint: 'use --pod NAME, or --pod new:NAME to create it' });
    if (p.network !== undefined) throw new SandboxError('--network cannot be given with --pod: the network is the pod\'s', { hint: 'give it to `sandbox pod create --network MODE` instead' });
    request.pod = podArg;
  }
  if (entrypoint !== undefined) request.entrypoint = entrypoint;
  if (nameArg !== undefined) request.name = validateName(nameArg);
  if (workdir !== undefined) request.workdir = workdir;
  if (userArg !== undefined) request.user = validateUser(userArg);
  if (hostnameArg !== undefined) request.hostname = validateHostname(hostnameArg);
  const restartArg = last(p.restart);
  if (restartArg !== undefined) {
    request.restart = parseRestartPolicy(restartArg);
    if (request.restart !== 'no' && request.remove) {
      throw new SandboxError('--restart and --rm cannot be combined', { hint: 'a sandbox that removes itself cannot be restarted; drop one of them' });
    }
  }
  const stopSignalArg = last(p.stopSignal);
  if (stopSignalArg !== undefined) request.stopSignal = parseSignal(stopSignalArg);
  Object.assign(request, parseLogOptions(list(p.logOpt), last(p.logDriver), ctx));
  const stopTimeoutArg = last(p.stopTimeout);
  if (stopTimeoutArg !== undefined) request.stopTimeout = parseStopTimeout(stopTimeoutArg);
  const healthcheck = parseHealthArgs(parsed);
  if (healthcheck) request.healthcheck = healthcheck;
  const pullArg = last(p.pull);
  if (pullArg !== undefined) request.pull = parsePullPolicy(pullArg);
  const platformArg = last(p.platform);
  if (platformArg !== undefined) request.platform = platformArg;
  if (typeof p.tlsVerify === 'boolean') request.tlsVerify = p.tlsVerify;
  if (p.quiet === true) request.quiet = true;
  if (p.init === true) request.init = true;
  if (last(p.initPath) !== undefined) ctx.warn?.('--init-path is ignored: every sandbox runs sandbox\'s own init as PID 1 (it reaps zombies and passes signals on)');
  const annotations = list(p.annotation);
  if (annotations.length) request.annotations = Object.fromEntries(annotations.map(parseAnnotation));
  const groups = list(p.groupAdd);
  if (groups.length) request.groupAdd = parseGroupAdd(groups);
  Object.assign(request, usernsRequest(last(p.userns), list(p.uidmap), list(p.gidmap)));
  checkUsernsJoin(request, { ...(request.networkContainer !== undefined ? { container: request.networkContainer } : {}), ...(request.pod !== undefined ? { pod: request.pod } : {}) });
  if (security.given.length) request.securityOpt = security.given;
  if (security.maskPaths.length) request.maskPaths = security.maskPaths;
  if (security.unmaskPaths.length) request.unmaskPaths = security.unmaskPaths;
  if (security.seccomp !== undefined) request.seccomp = security.seccomp;
  if (p.replace === true) {
    if (request.name === undefined) throw new SandboxError('--replace needs --name', { hint: 'it replaces the sandbox of that name: --replace --name NAME' });
    request.replace = true;
  }
  const cidfileArg = last(p.cidfile);
  if (cidfileArg !== undefined) {
    if (cidfileArg === '') throw new SandboxError('--cidfile needs a file name', { hint: '--cidfile FILE (a file that does not exist yet)' });
    request.cidFile = hostPath(cidfileArg, ctx, '--cidfile');
  }
  for (const [arg, key, flag] of [[last(p.pidfile), 'pidFile', '--pidfile'], [last(p.conmonPidfile), 'conmonPidFile', '--conmon-pidfile']] as const) {
    if (arg === undefined) continue;
    if (arg === '') throw new SandboxError(`${flag} needs a file name`, { hint: `${flag} FILE` });
    request[key] = hostPath(arg, ctx, flag);
  }
  Object.assign(request, parseAttach(list(p.attach), request));
  const preserveArg = last(p.preserveFds);
  if (preserveArg !== undefined) {
    if (!/^[0-9]+$/.test(preserveArg.trim()) || Number(preserveArg) > 500) throw new SandboxError(`invalid --preserve-fds ${JSON.stringify(preserveArg)}`, { hint: 'give how many of your fds from 3 on the command gets, e.g. --preserve-fds 2 (at most 500)' });
    if (Number(preserveArg) > 0) {
      if (request.detach) throw new SandboxError('--preserve-fds needs a foreground run: a sandbox in the background outlives the fds of this process', { hint: 'leave out -d, or pass the data through a volume (-v)' });
      request.preserveFds = Number(preserveArg);
    }
  }
  const hostUsers = list(p.hostuser);
  if (hostUsers.length) request.hostUsers = hostUsers;
  const timeoutArg = last(p.timeout);
  if (timeoutArg !== undefined) {
    if (!/^[0-9]+$/.test(timeoutArg.trim())) throw new SandboxError(`invalid --timeout ${JSON.stringify(timeoutArg)}`, { hint: 'give whole seconds, e.g. --timeout 60 (0: none)' });
    if (Number(timeoutArg) > 0) request.timeout = Number(timeoutArg);
  }
  const detachKeysArg = last(p.detachKeys);
  if (detachKeysArg !== undefined) request.detachKeys = parseDetachKeys(detachKeysArg);
  if (p.sigProxy === false) request.sigProxy = false;
  Object.assign(request, parseDeviceOptions(list(p.device), list(p.deviceCgroupRule), p.privileged === true));
  Object.assign(request, parseNameArgs(parsed));
  const ulimits = parseUlimits(list(p.ulimit));
  if (ulimits.length) request.ulimits = ulimits;
  const limits = parseLimitOptions(limitArgsFrom((key) => p[key]), availableParallelism);
  if (limits) request.limits = limits;
  if (p.unenforcedLimits === true) request.unenforcedLimits = true;
  Object.assign(request, parseCgroupOptions(last(p.cgroupParent), last(p.oomScoreAdj)));
  Object.assign(request, parseSeccompPolicy(last(p.seccompPolicy)));
  const subuid = last(p.subuidname), subgid = last(p.subgidname);
  if (subuid !== undefined || subgid !== undefined) {
    if (request.userns !== undefined || request.uidMap || request.gidMap) throw new SandboxError('--subuidname/--subgidname cannot be combined with --userns, --uidmap or --gidmap', { hint: 'give one way of choosing the ids' });
    if (subuid === '' || subgid === '') throw new SandboxError('--subuidname/--subgidname needs a name', { hint: 'a name /etc/subuid lists: yours' });
    if (subuid !== undefined) request.subuidName = subuid;
    if (subgid !== undefined) request.subgidName = subgid;
  }
  const gpus = last(p.gpus);
  if (gpus !== undefined) {
    checkGpusValue(gpus);
    const nodes = hostGpuDevices();
    if (!nodes.length) ctx.warn?.('--gpus: this host has no GPU device nodes (/dev/dri, /dev/nvidia*): none passed in');
    request.devices = [...(request.devices ?? []), ...nodes.filter((n) => !request.devices?.some((d) => d.host === n.host))];
  }
  Object.assign(request, parsePortOptions(list(p.publish), p.publishAll === true, list(p.expose), request.network, ctx));
  return request;
}

const STREAMS = ['stdin', 'stdout', 'stderr'] as const;

/**
 * `--attach`/`-a STREAM` (repeatable), as Podman: a foreground run shows only the named
 * streams (stdin still needs -i); with none of stdout and stderr it runs in the background
 * and prints its id, as -d; with -d it is ignored.
 */
export function parseAttach(values: string[], request: Pick<RunRequest, 'detach'>): Partial<Pick<RunRequest, 'attach' | 'detach'>> {
  if (!values.length) return {};
  const attach = values.map((v) => {
    const s = v.toLowerCase();
    if (!(STREAMS as readonly string[]).includes(s)) {
      throw new SandboxError(`invalid stream ${JSON.stringify(v)} for --attach`, { hint: 'give stdin, stdout or stderr (repeatable: -a stdout -a stderr)' });
    }
    return s as (typeof STREAMS)[number];
  });
  if (request.detach) return {};
  const unique = STREAMS.filter((s) => attach.includes(s));
  return { attach: unique, ...(unique.includes('stdout') || unique.includes('stderr') ? {} : { detach: true }) };
}

/**
 * `--device` (checked against the host when the sandbox is created: runtime/devices.ts),
 * `--privileged`, and `--device-cgroup-rule`, which is refused: it allows device numbers
 * in a device cgroup, and a rootless sandbox has none (nor could it make the nodes).
 */
export function parseDeviceOptions(devices: string[], cgroupRules: string[], privileged: boolean): Pick<RunRequest, 'devices' | 'privileged'> {
  if (cgroupRules.length) {
    throw new SandboxError(`--device-cgroup-rule ${JSON.stringify(cgroupRules[0])} cannot be applied: a rootless sandbox has no device cgroup to allow it in, and cannot make device nodes`, {
      hint: 'pass the device node itself: --device /dev/NAME (a bind of the host\'s node, which you must be able to open)',
    });
  }
  const out: Pick<RunRequest, 'devices' | 'privileged'> = {};
  if (devices.length) out.devices = devices.map(parseDevice);
  if (privileged) out.privileged = true;
  return out;
}

/** Modes without a network namespace of the sandbox's own to publish into: Podman discards -p and -P there, with a warning. */
const NO_PUBLISHING: readonly NetworkMode[] = ['host', 'none', 'container'];

/** `-p`, `-P` and `--expose` (network/port-spec.ts); host ports left to us are chosen when the sandbox is created. */
export function parsePortOptions(
  publish: string[], publishAll: boolean, expose: string[], network: NetworkMode, ctx: Pick<RunOptionsContext, 'warn'>,
): Pick<RunRequest, 'ports' | 'publishAll' | 'expose'> {
  const out: Pick<RunRequest, 'ports' | 'publishAll' | 'expose'> = {};
  const ports = parsePublishes(publish);
  const exposed = [...new Set(expose.flatMap(parseExpose))];
  if (exposed.length) out.expose = exposed;
  if (!ports.length && !publishAll) return out;
  if (NO_PUBLISHING.includes(network)) {
    ctx.warn?.(`port mappings have been discarded: --network ${network} has no network namespace of the sandbox's own to publish into`);
    return out;
  }
  if (ports.length) out.ports = ports;
  if (publishAll) out.publishAll = true;
  return out;
}

/** `--pull`: missing, always, never, newer (Podman's: pull when the registry's digest differs, keep the local image when the registry cannot be reached). */
export function parsePullPolicy(value: string): 'missing' | 'always' | 'never' | 'newer' {
  const v = value.toLowerCase();
  if (v === 'missing' || v === 'always' || v === 'never' || v === 'newer') return v;
  if (v === 'true') return 'always';
  if (v === 'false') return 'missing';
  throw new SandboxError(`invalid --pull policy "${value}"`, { hint: 'use missing (the default), always, never or newer' });
}

/** `no`, `always`, `on-failure`, `on-failure:N` (Docker's restart policies). */
export function parseRestartPolicy(value: string): string {
  if (/^(no|always|on-failure(:[1-9][0-9]*)?)$/.test(value)) return value;
  if (value === 'unless-stopped') return 'always'; // no daemon restarts here: the same thing
  throw new SandboxError(`invalid restart policy "${value}"`, { hint: 'use no, on-failure[:MAX-RETRIES], always or unless-stopped' });
}

/** `max-size=10m` -> bytes; other log options are refused. */
export function parseLogOpt(value: string): number {
  const m = /^max-size=([0-9]+)([kmg]?)b?$/i.exec(value.trim());
  if (!m && value.trim().startsWith('max-size=')) {
    throw new SandboxError(`invalid size: '${value.trim().slice('max-size='.length)}' in --log-opt ${value}`, { hint: 'e.g. max-size=10m (k, m, g)' });
  }
  if (!m) throw new SandboxError(`unsupported --log-opt "${value}"`, { hint: LOG_OPT_HINT });
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = Number(m[1]) * unit;
  if (bytes < 4096) throw new SandboxError(`--log-opt max-size must be at least 4k (got ${value})`, { hint: 'e.g. max-size=10m' });
  return bytes;
}

const LOG_OPT_HINT = 'supported: max-size=SIZE (e.g. 10m), max-file=1|2, path=FILE';
const LOG_DRIVERS: readonly LogDriver[] = ['k8s-file', 'json-file', 'none'];

/**
 * `--log-driver` and the `--log-opt`s: k8s-file (default), json-file (the same, as in
 * Podman) or none; max-size bounds the log (past it the file moves to FILE.1, so at most
 * twice that is kept; with max-file=1 the old part is dropped); path puts it elsewhere.
 */
export function parseLogOptions(opts: string[], driver: string | undefined, ctx: RunOptionsContext): Pick<RunRequest, 'logDriver' | 'logMaxSize' | 'logMaxFiles' | 'logPath'> {
  const out: Pick<RunRequest, 'logDriver' | 'logMaxSize' | 'logMaxFiles' | 'logPath'> = {};
  if (driver !== undefined) {
    if (driver === 'journald' || driver === 'passthrough') {
      throw new SandboxError(`--log-driver ${driver} is not supported yet`, { hint: 'use k8s-file (the default: `sandbox logs` reads it) or none' });
    }
    if (!(LOG_DRIVERS as readonly string[]).includes(driver)) {
      throw new SandboxError(`invalid log driver ${JSON.stringify(driver)}`, { hint: `use --log-driver ${LOG_DRIVERS.join('|')}` });
    }
    out.logDriver = driver as LogDriver;
  }
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'max-size') out.logMaxSize = parseLogOpt(opt);
    else if (key === 'max-file') {
      if (!/^[1-9][0-9]*$/.test(value)) throw new SandboxError(`invalid --log-opt ${JSON.stringify(opt)}`, { hint: 'max-file=N, N at least 1' });
      if (Number(value) > 2) {
        throw new SandboxError(`--log-opt max-file=${value} is not supported yet: the log keeps at most one old file`, { hint: 'use max-file=1 or 2, with max-size to bound each' });
      }
      out.logMaxFiles = Number(value);
    } else if (key === 'path') {
      if (value === '') throw new SandboxError('--log-opt path= needs a file', { hint: 'e.g. --log-opt path=/tmp/app.log' });
      out.logPath = hostPath(value, ctx, '--log-opt path');
    } else {
      throw new SandboxError(`unsupported --log-opt ${JSON.stringify(opt)}`, { hint: LOG_OPT_HINT });
    }
  }
  return out;
}

/** `--stop-timeout N`: whole seconds, as Podman takes them. */
export function parseStopTimeout(value: string): number {
  if (!/^[0-9]+$/.test(value.trim())) {
    throw new SandboxError(`invalid --stop-timeout ${JSON.stringify(value)}`, { hint: 'give whole seconds, e.g. --stop-timeout 30' });
  }
  return Number(value.trim());
}
