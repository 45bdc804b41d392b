/**
 * Validation of `sandbox run` (and `create`) options: the plain data `parseRunArgv`
 * (run-option-table.ts) makes of the words becomes a RunRequest, or a one-line error with
 * a hint. Pure: files are read, the environment and cwd come, through a context.
 *
 *   const request = toRunRequest(parseRunArgv(words, 'run'), { env: process.env, cwd: process.cwd(),
 *     readFile: (p) => readFileSync(p, 'utf8'), stdinIsTTY: process.stdin.isTTY, warn });
 */
import { posix } from 'node:path';
import { SandboxError, clipped } from '../errors.js';
import { HOST_NAME_MAX, checkPathLimits } from '../runtime/limits.js';
import { checkName, NAME_PATTERN } from '../state/names.js';
import type { NetworkMode, RunRequest, TmpfsSpec, VolumeSpec } from '../types.js';
import { parseLabel } from '../labels.js';
import { parseEnvAssignment, parseEnvFile } from './env-file.js';
import { normalizeCapability } from '../runtime/capabilities.js';
import { parseSignal } from '../runtime/signals.js';
import { DEFAULT_NETWORK, NETWORK_MODES, runUsage, type RunArgs, type RunVerb } from './run-option-table.js';
import { parseDetachKeys } from '../runtime/detach-keys.js';

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

function expandHome(path: string, ctx: RunOptionsContext, what: string): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  const home = ctx.env.HOME;
  if (!home) throw new SandboxError(`cannot expand "~" in ${what}: HOME is not set`, { hint: 'give an absolute path instead' });
  return home + path.slice(1);
}

function hostPath(path: string, ctx: RunOptionsContext, what: string): string {
  const resolved = posix.resolve(ctx.cwd, expandHome(path, ctx, what));
  checkPathLimits(resolved, `host path of ${what.split(' ')[0]}`, 'give a shorter path');
  return resolved;
}

/** An absolute path inside the sandbox, normalised (no trailing slash, no `.`/`..`). */
function containerPath(path: string, what: string, hint: string): string {
  if (!path.startsWith('/')) {
    throw new SandboxError(`${what} ${JSON.stringify(path)} must be an absolute path inside the sandbox`, { hint });
  }
  if (path.includes('\0')) throw new SandboxError(`${what} ${JSON.stringify(path)} contains a NUL byte`, { hint });
  const normal = posix.normalize(path);
  checkPathLimits(normal, what, hint);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
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

const VOLUME_MODES = ['ro', 'rw', 'z', 'Z'];
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
  if (opts !== undefined) {
    const seen = opts.split(',');
    for (const o of seen) {
      if (!VOLUME_MODES.includes(o)) {
        throw invalid(`unknown option ${JSON.stringify(o)}`, 'volume options are ro, rw, z and Z (comma-separated)');
      }
    }
    if (seen.filter((o) => o === 'ro' || o === 'rw').length > 1) throw invalid('more than one of ro and rw', 'give ro or rw once');
    if (seen.filter((o) => o === 'z' || o === 'Z').length > 1) throw invalid('more than one of z and Z', 'give z or Z once');
    readOnly = seen.includes('ro');
    // z and Z (SELinux relabelling) are accepted and ignored.
  }
  const dst = volumeTarget(target, spec);
  const isPath = source.startsWith('/') || source === '.' || source === '..' || source.startsWith('./') ||
    source.startsWith('../') || source === '~' || source.startsWith('~/');
  if (isPath) return { kind: 'bind', source: hostPath(source, ctx, `-v ${spec}`), target: dst, readOnly };
  if (!NAME_PATTERN.test(source)) {
    throw invalid(
      `${JSON.stringify(source)} is neither a path nor a volume name`,
      'a host directory starts with "/", "./", "../" or "~/"; a volume name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*',
    );
  }
  return { kind: 'volume', name: checkName(source, 'volume'), target: dst, readOnly };
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
];
const TMPFS_VALUES: Readonly<Record<string, RegExp>> = {
  size: /^\d+[kmgtpe]?$|^\d+%$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
};
const TMPFS_HINT = 'tmpfs options: size=N[k|m|g|%], mode=OCTAL, uid=N, gid=N, nr_inodes=N, ro|rw, exec|noexec, suid|nosuid, dev|nodev';

/**
 * One `--tmpfs PATH[:OPTIONS]`. Without options: rw,noexec,nosuid,nodev (Podman's
 * defaults); with options, rw, nosuid and nodev are added when not given otherwise.
 */
export function parseTmpfs(spec: string): TmpfsSpec {
  const colon = spec.indexOf(':');
  const path = colon < 0 ? spec : spec.slice(0, colon);
  const target = containerPath(path, '--tmpfs path', 'use --tmpfs /PATH[:OPTIONS], e.g. --tmpfs /run:size=64m');
  if (target === '/') throw new SandboxError(`invalid --tmpfs ${JSON.stringify(spec)}: cannot mount over "/"`, { hint: 'to make the root writable, leave out --read-only' });
  if (colon < 0) return { target, options: ['rw', 'noexec', 'nosuid', 'nodev'] };
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
  for (const [flag, dflt] of [['rw', 'rw'], ['suid', 'nosuid'], ['dev', 'nodev']] as const) {
    if (!keys.has(flag)) out.push(dflt);
  }
  return { target, options: out };
}

/** `--security-opt`: only `no-new-privileges[=|:true|false]` for now. */
export function parseSecurityOpt(value: string): { noNewPrivileges: boolean } {
  const m = /^no-new-privileges(?:[=:](true|false))?$/.exec(value);
  if (!m) {
    throw new SandboxError(`unsupported --security-opt ${JSON.stringify(value)}`, {
      hint: 'supported: --security-opt no-new-privileges (or no-new-privileges=true|false)',
    });
  }
  return { noNewPrivileges: m[1] !== 'false' };
}

export function parseNetwork(value: string): NetworkMode {
  if ((NETWORK_MODES as readonly string[]).includes(value)) return value as NetworkMode;
  throw new SandboxError(`unknown network mode ${JSON.stringify(value)}`, {
    hint: `use --network ${NETWORK_MODES.join('|')}`,
  });
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

  // Environment: files first, then -e, a later setting wins.
  const env: Record<string, string> = {};
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

  const volumes = list(p.volume).map((v) => parseVolume(v, ctx));
  const tmpfs = list(p.tmpfs).map(parseTmpfs);
  const seen = new Set<string>();
  for (const target of [...volumes.map((v) => v.target), ...tmpfs.map((t) => t.target)]) {
    if (seen.has(target)) {
      throw new SandboxError(`duplicate mount point: ${target}`, { hint: 'give each -v / --tmpfs destination once' });
    }
    seen.add(target);
  }

  let noNewPrivileges = false;
  for (const opt of list(p.securityOpt)) noNewPrivileges = parseSecurityOpt(opt).noNewPrivileges;

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
    network: parseNetwork(last(p.network) ?? DEFAULT_NETWORK),
    capAdd,
    capDrop,
    noNewPrivileges,
    labels,
  };
  if (rootfs !== undefined) request.rootfs = rootfs;
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
  for (const opt of list(p.logOpt)) request.logMaxSize = parseLogOpt(opt);
  const pullArg = last(p.pull);
  if (pullArg !== undefined) request.pull = parsePullPolicy(pullArg);
  const platformArg = last(p.platform);
  if (platformArg !== undefined) request.platform = platformArg;
  if (typeof p.tlsVerify === 'boolean') request.tlsVerify = p.tlsVerify;
  if (p.quiet === true) request.quiet = true;
  const detachKeysArg = last(p.detachKeys);
  if (detachKeysArg !== undefined) request.detachKeys = parseDetachKeys(detachKeysArg);
  if (p.sigProxy === false) request.sigProxy = false;
  return request;
}

/** `--pull`: missing, always, never; `newer` pulls as always does (we keep no registry dates to compare). */
export function parsePullPolicy(value: string): 'missing' | 'always' | 'never' {
  const v = value.toLowerCase();
  if (v === 'missing' || v === 'always' || v === 'never') return v;
  if (v === 'newer') return 'always';
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
  if (!m) throw new SandboxError(`unsupported --log-opt "${value}"`, { hint: 'supported: max-size=SIZE, e.g. max-size=10m' });
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bytes = Number(m[1]) * unit;
  if (bytes < 4096) throw new SandboxError(`--log-opt max-size must be at least 4k (got ${value})`, { hint: 'e.g. max-size=10m' });
  return bytes;
}
