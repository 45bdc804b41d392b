/**
 * `sandbox doctor`, the judging half: pure functions from a `HostFacts` snapshot (gathered
 * by ./probe.ts, or written by hand in tests) to checks with a status, a one-line detail
 * and, for every problem we know how to fix, the exact command that fixes it.
 *
 * Every `fix` is one line of shell, the exact command; alternatives and explanations go
 * into `detail`.
 */
import { NETWORK_MODES, NETWORK_TOOLS, networkModeTools } from '../network/driver.js';
import { checkNetworkModes, checkUnprivilegedPorts, type NetworkHostFacts } from './network-checks.js';
import { LIMIT_OPTION, RLIMIT_FLAG, mechanismOf, v1DelegationCommands, whyUnenforced, type CgroupHost, type LimitName } from '../runtime/cgroup/limits.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export type CheckId =
  | 'userns'
  | 'uidmap'
  | 'subids'
  | 'fuse'
  | 'cow'
  | 'network'
  | 'tun'
  | 'unprivileged-ports'
  | 'network-mode'
  | 'xdg-runtime'
  | 'cgroup'
  | 'helper'
  | 'store'
  | 'tools'
  | 'image-tools';

export interface DoctorCheck {
  id: CheckId;
  title: string;
  status: CheckStatus;
  detail: string;
  /** The exact command (one line) that fixes the problem; only on warn/fail. */
  fix?: string;
}

export interface DoctorReport {
  user: { uid: number; gid: number; name: string | null };
  isRoot: boolean;
  /** True when `sandbox run` can work here (warnings allowed). */
  canRun: boolean;
  problems: number;
  warnings: number;
  /** General remarks printed before the table (e.g. what running as root means). */
  notes: string[];
  checks: DoctorCheck[];
}

/** The outcome of actually trying something (unshare, a mount, newuidmap). */
export interface TryResult {
  ok: boolean;
  /** What the tool said when it failed (trimmed stderr, or the spawn error). */
  error?: string;
}

/** stat(2) of a path as seen by the current user, plus access(2) for read+write. */
export interface NodeFact {
  path: string;
  exists: boolean;
  type?: 'dir' | 'file' | 'char' | 'other';
  uid?: number;
  gid?: number;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode?: number;
  /** access(R_OK|W_OK) for devices and files, access(W_OK|X_OK) for directories. */
  access?: boolean;
  /** Directories: access(X_OK), i.e. you can reach what is inside (every parent searchable too). */
  search?: boolean;
}

export interface ToolFact {
  path: string;
  uid: number;
  /** mode & 0o7777 */
  mode: number;
  /** File capabilities in lower case (`cap_setuid`), [] when none; null when unknown (no getcap). */
  caps: string[] | null;
}

export type ToolName =
  | 'unshare'
  | 'nsenter'
  | 'mount'
  | 'setpriv'
  | 'prlimit'
  | 'newuidmap'
  | 'newgidmap'
  | 'fuse-overlayfs'
  | 'slirp4netns'
  | 'pasta'
  | 'getcap'
  | 'cc'
  | 'make'
  | 'tar'
  | 'zstd';

/** One line of /etc/subuid or /etc/subgid: `owner:start:count`. */
export interface SubIdEntry {
  owner: string;
  start: number;
  count: number;
}

export interface CgroupFacts {
  /** unified = v2 only; hybrid = v1 controllers plus an empty v2 tree; v1; none = not mounted. */
  layout: 'unified' | 'hybrid' | 'v1' | 'none';
  /** Where the v2 hierarchy is mounted, when it is. */
  v2Mount: string | null;
  /** This process's v2 cgroup path (`0::` line of /proc/self/cgroup). */
  ownPath: string | null;
  /** The topmost cgroup (v2) this user may manage, with the controllers enabled there. */
  delegated: { path: string; controllers: string[] } | null;
  /** What runtime/cgroup/detect.ts finds for this user (the mechanisms of the limits), and the v1 controllers mounted. */
  limits?: { host: CgroupHost; v1Controllers: string[] };
}

export interface StoreDirFact {
  /** What the directory is for: `data` or `runtime`. */
  role: 'data' | 'runtime';
  path: string;
  node: NodeFact;
  /** When `path` does not exist yet: its nearest existing ancestor (creatable if writable). */
  ancestor: NodeFact | null;
  /** `path` is a symbolic link (a runtime directory never is: see state/store-dirs.ts). */
  link?: boolean;
}

export interface HostFacts {
  user: { uid: number; gid: number; name: string | null };
  kernelRelease: string;
  sysctl: {
    /** /proc/sys/user/max_user_namespaces */
    maxUserNamespaces: number | null;
    /** /proc/sys/kernel/unprivileged_userns_clone (older Debian kernels); null when absent. */
    unprivilegedUsernsClone: number | null;
    /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 23.10+); null when absent. */
    apparmorRestrictUnprivilegedUserns: number | null;
  };
  /** Our AppArmor profile (/etc/apparmor.d/sandbox, allowing user namespaces) is installed. */
  apparmorSandboxProfile: boolean;
  /** Tools found on PATH (or in the sbin dirs); a missing key means not found. */
  tools: Partial<Record<ToolName, ToolFact>>;
  /** Parsed /etc/subuid, /etc/subgid; null when the file is missing or unreadable. */
  subuid: SubIdEntry[] | null;
  subgid: SubIdEntry[] | null;
  devFuse: NodeFact;
  devNetTun: NodeFact;
  /** The versions of the network helpers found (`slirp4netns --version`; pasta's Debian package when pasta says "unknown version"); null: could not tell. */
  networkVersions?: Partial<Record<'slirp4netns' | 'pasta', string | null>>;
  /** Real attempts; null when not tried (tool missing, or a quick synchronous probe). */
  tries: {
    /** `unshare --user --map-root-user true` */
    userns: TryResult | null;
    /** overlayfs mounted inside a user namespace, with a copy-up */
    overlay: TryResult | null;
    /** fuse-overlayfs mounted inside a user namespace, with a copy-up */
    fuseOverlay: TryResult | null;
    /** newuidmap + newgidmap on a fresh user namespace with the user's first ranges */
    idmap: TryResult | null;
  };
  /** XDG_RUNTIME_DIR as set in the environment (null when unset). */
  xdgRuntimeDir: string | null;
  xdgRuntimeNode: NodeFact | null;
  /** /run/user/UID, where a login session puts the runtime dir. */
  runUserDir: NodeFact;
  /** systemd is the init (/run/systemd/system exists). */
  systemd: boolean;
  cgroup: CgroupFacts;
  /** Repository root (where package.json and helpers/ are); null when it cannot be found. */
  repoRoot: string | null;
  helper: NodeFact | null;
  store: { data: StoreDirFact; runtime: StoreDirFact; runtimeIsFallback: boolean; overridden: boolean };
  /** What networking needs beyond tools and /dev/net/tun (./network-checks.ts). */
  network?: NetworkHostFacts;
}

/* ------------------------------------------------------------------------------------ */

const FULL_RANGE = 65536;
const FIRST_SUBID = 100000;
const MAX_ID = 4294967295;

const isRoot = (f: HostFacts) => f.user.uid === 0;
const userLabel = (f: HostFacts) => f.user.name ?? `uid ${f.user.uid}`;
/** For commands: the user name, or the numeric uid when there is no passwd entry. */
const userArg = (f: HostFacts) => f.user.name ?? String(f.user.uid);
const oct = (mode: number | undefined) => (mode === undefined ? '?' : (mode & 0o7777).toString(8).padStart(4, '0'));

/** Shell-quotes a word only when it needs it. */
function shq(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Ranges of `entries` that belong to the user, matched by name or by numeric uid. */
export function subIdsOf(entries: SubIdEntry[] | null, name: string | null, uid: number): SubIdEntry[] {
  if (!entries) return [];
  return entries.filter((e) => e.owner === String(uid) || (name !== null && e.owner === name));
}

/** Parses /etc/subuid-style text; comments, blank and malformed lines are skipped. */
export function parseSubIds(text: string): SubIdEntry[] {
  const out: SubIdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (!owner || !start || !count || !/^\d+$/.test(start) || !/^\d+$/.test(count)) continue;
    out.push({ owner, start: Number(start), count: Number(count) });
  }
  return out;
}

/**
 * The first range of `size` ids at or after 100000 that overlaps no existing entry of
 * any of the given files (so one range can be added to both /etc/subuid and /etc/subgid).
 */
export function freeSubIdRange(files: Array<SubIdEntry[] | null>, size = FULL_RANGE): { start: number; end: number } {
  const taken = files.flatMap((f) => f ?? []).filter((e) => e.count > 0).sort((a, b) => a.start - b.start);
  let start = FIRST_SUBID;
  for (let moved = true; moved; ) {
    moved = false;
    for (const e of taken) {
      if (start < e.start + e.count && e.start < start + size) {
        start = e.start + e.count;
        moved = true;
      }
    }
  }
  if (start + size - 1 > MAX_ID) start = FIRST_SUBID; // the id space is full: let usermod complain
  return { start, end: start + size - 1 };
}

/** `100000-165535 (65536)` for the ranges of one user. */
function describeRanges(ranges: SubIdEntry[]): string {
  return ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ');
}

/** rw for the user running sandbox (for root: anyone could; we also say what others get). */
function othersCanUse(node: NodeFact): boolean {
  return node.mode !== undefined && (node.mode & 0o006) === 0o006;
}

/* ---------------------------------- the checks ---------------------------------- */

const SYSCTL_CONF = '/etc/sysctl.d/60-sandbox-userns.conf';

function sysctlFix(key: string, value: number): string {
  return `sudo sysctl -w ${key}=${value} && echo ${key}=${value} | sudo tee ${SYSCTL_CONF}`;
}

/** The AppArmor profile that lets our helpers create user namespaces on Ubuntu 23.10+. */
function apparmorProfileFix(f: HostFacts): string {
  const target = f.repoRoot ? `${f.repoRoot}/helpers/build/sandbox-*` : '/path/to/sandbox/helpers/build/sandbox-*';
  const profile =
    `abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile sandbox ${target} flags=(unconfined) {\\n  userns,\\n}\\n`;
  return `printf ${shq(profile)} | sudo tee /etc/apparmor.d/sandbox >/dev/null && sudo apparmor_parser -r /etc/apparmor.d/sandbox`;
}

/** What stops unprivileged users from creating user namespaces, with the fix for each. */
function usernsBlockers(f: HostFacts): Array<{ why: string; fix: string }> {
  const out: Array<{ why: string; fix: string }> = [];
  const s = f.sysctl;
  if (s.maxUserNamespaces !== null && s.maxUserNamespaces <= 0) {
    out.push({ why: 'user.max_user_namespaces is 0', fix: sysctlFix('user.max_user_namespaces', 15000) });
  }
  if (s.unprivilegedUsernsClone !== null && s.unprivilegedUsernsClone !== 1) {
    out.push({
      why: 'kernel.unprivileged_userns_clone is 0 (Debian kernel switch)',
      fix: sysctlFix('kernel.unprivileged_userns_clone', 1),
    });
  }
  if (s.apparmorRestrictUnprivilegedUserns === 1 && !f.apparmorSandboxProfile) {
    out.push({
      why:
        'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+): ' +
        "a profile lets sandbox's helpers create them; or, for every program at once, " +
        '`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`',
      fix: apparmorProfileFix(f),
    });
  }
  return out;
}

export function checkUserns(f: HostFacts): DoctorCheck {
  const base = { id: 'userns' as const, title: 'user namespaces' };
  const blockers = usernsBlockers(f);
  const tried = f.tries.userns;
  const hardZero = f.sysctl.maxUserNamespaces !== null && f.sysctl.maxUserNamespaces <= 0;
  if (isRoot(f)) {
    // Root has CAP_SYS_ADMIN: the unprivileged switches do not apply to it; the max does.
    if (tried && !tried.ok) {
      return { ...base, status: 'fail', detail: `unshare --user failed even as root: ${tried.error ?? 'unknown error'}`, ...(hardZero ? { fix: blockers[0]!.fix } : {}) };
    }
    if (hardZero) return { ...base, status: 'fail', detail: blockers[0]!.why, fix: blockers[0]!.fix };
    if (blockers.length > 0) {
      return {
        ...base,
        status: 'warn',
        detail: `root may create them, but unprivileged users cannot: ${blockers.map((b) => b.why).join('; ')}`,
        fix: blockers[0]!.fix,
      };
    }
    return { ...base, status: 'ok', detail: 'allowed (also for unprivileged users: no sysctl or AppArmor restriction)' };
  }
  if (tried && tried.ok) {
    const aa = f.sysctl.apparmorRestrictUnprivilegedUserns === 1 ? blockers.find((b) => b.why.startsWith('AppArmor')) : undefined;
    if (aa) {
      return {
        ...base,
        status: 'warn',
        detail: `unshare --user works, but ${aa.why}`,
        fix: aa.fix,
      };
    }
    return { ...base, status: 'ok', detail: `allowed: unshare --user --map-root-user works${f.sysctl.maxUserNamespaces !== null ? ` (max ${f.sysctl.maxUserNamespaces})` : ''}` };
  }
  if (tried && !tried.ok) {
    const err = `unshare --user --map-root-user failed: ${tried.error ?? 'unknown error'}`;
    if (blockers.length > 0) {
      return { ...base, status: 'fail', detail: `${err}; because ${blockers.map((b) => b.why).join('; ')}`, fix: blockers[0]!.fix };
    }
    return {
      ...base,
      status: 'fail',
      detail: `${err} (no sysctl explains it: a seccomp filter or LSM of this container/host may block it)`,
    };
  }
  // Not tried: judge from the switches alone.
  if (blockers.length > 0) {
    return { ...base, status: 'fail', detail: blockers.map((b) => b.why).join('; '), fix: blockers[0]!.fix };
  }
  if (f.sysctl.apparmorRestrictUnprivilegedUserns === 1 && f.apparmorSandboxProfile) {
    return {
      ...base,
      status: 'ok',
      detail: "AppArmor restricts unprivileged user namespaces, and /etc/apparmor.d/sandbox allows sandbox's helpers (not tried: AppArmor confines `unshare`)",
    };
  }
  return { ...base, status: 'ok', detail: 'allowed by the sysctls (not tried: `unshare` not found)' };
}

function idmapPrivileged(t: ToolFact, cap: string): boolean | null {
  if (t.uid === 0 && (t.mode & 0o4000) !== 0) return true;
  if (t.caps === null) return null;
  return t.caps.includes(cap);
}

export function checkUidmap(f: HostFacts): DoctorCheck {
  const base = { id: 'uidmap' as const, title: 'newuidmap/newgidmap' };
  const u = f.tools.newuidmap;
  const g = f.tools.newgidmap;
  const missing = [u ? null : 'newuidmap', g ? null : 'newgidmap'].filter((x): x is string => x !== null);
  if (missing.length > 0) {
    return {
      ...base,
      status: 'warn',
      detail: isRoot(f)
        ? `${missing.join(' and ')} not found: root does not need them, unprivileged users do for their subordinate ids`
        : `${missing.join(' and ')} not found: only your own uid and gid can be mapped (all other ids show as nobody inside)`,
      fix: 'sudo apt-get install uidmap',
    };
  }
  const uu = u!;
  const gg = g!;
  const pu = idmapPrivileged(uu, 'cap_setuid');
  const pg = idmapPrivileged(gg, 'cap_setgid');
  const how = (t: ToolFact, cap: string) =>
    t.uid === 0 && (t.mode & 0o4000) !== 0 ? 'setuid root' : t.caps?.includes(cap) ? cap : 'unprivileged';
  if (pu === false || pg === false) {
    const bad = [pu === false ? uu.path : null, pg === false ? gg.path : null].filter((x): x is string => x !== null);
    return {
      ...base,
      status: 'warn',
      detail: `${bad.join(' and ')} neither setuid root nor with file capabilities: they cannot map subordinate ids (or \`sudo setcap cap_setuid+ep ${uu.path}\` and \`sudo setcap cap_setgid+ep ${gg.path}\`)`,
      fix: `sudo chown root:root ${bad.join(' ')} && sudo chmod u+s ${bad.join(' ')}`,
    };
  }
  const tried = f.tries.idmap;
  if (tried && !tried.ok) {
    return {
      ...base,
      status: 'fail',
      detail: `present, but mapping your subordinate ids failed: ${tried.error ?? 'unknown error'}`,
    };
  }
  const unknown = pu === null || pg === null;
  const detail =
    `${uu.path} (${how(uu, 'cap_setuid')}), ${gg.path} (${how(gg, 'cap_setgid')})` +
    (tried?.ok ? ': mapping your subordinate ids works' : unknown ? ' (file capabilities unknown: getcap not found)' : '') +
    (isRoot(f) ? ' (root does not need them)' : '');
  return { ...base, status: 'ok', detail };
}

export function checkSubids(f: HostFacts): DoctorCheck {
  const base = { id: 'subids' as const, title: 'subordinate uids/gids' };
  if (isRoot(f)) {
    const users = new Map<string, SubIdEntry[]>();
    for (const e of f.subuid ?? []) users.set(e.owner, [...(users.get(e.owner) ?? []), e]);
    const listing = [...users].map(([owner, r]) => `${owner} ${describeRanges(r)}`).join('; ');
    return {
      ...base,
      status: 'ok',
      detail: `not needed as root; ${listing ? `users with ranges in /etc/subuid: ${listing}` : 'no user has a range in /etc/subuid yet'}`,
    };
  }
  const uids = subIdsOf(f.subuid, f.user.name, f.user.uid);
  const gids = subIdsOf(f.subgid, f.user.name, f.user.uid);
  const total = (r: SubIdEntry[]) => r.reduce((n, e) => n + e.count, 0);
  const tu = total(uids);
  const tg = total(gids);
  const describe = (kind: string, r: SubIdEntry[], t: number) =>
    r.length === 0 ? `no ${kind} range` : `${kind}s ${describeRanges(r)} (${t})`;
  const detail = `${userLabel(f)}: ${describe('uid', uids, tu)}, ${describe('gid', gids, tg)}`;
  if (tu >= FULL_RANGE && tg >= FULL_RANGE) return { ...base, status: 'ok', detail };
  const needU = tu < FULL_RANGE;
  const needG = tg < FULL_RANGE;
  // Only the files that get a new range matter; with both, one range free in both.
  const { start, end } = freeSubIdRange([needU ? f.subuid : null, needG ? f.subgid : null]);
  const range = `${start}-${end}`;
  let fix: string;
  if (f.user.name !== null) {
    fix = `sudo usermod ${needU ? `--add-subuids ${range} ` : ''}${needG ? `--add-subgids ${range} ` : ''}${shq(f.user.name)}`;
  } else {
    const files = [needU ? '/etc/subuid' : null, needG ? '/etc/subgid' : null].filter((x) => x !== null).join(' ');
    fix = `echo ${f.user.uid}:${start}:${FULL_RANGE} | sudo tee -a ${files}`;
  }
  const none = tu === 0 || tg === 0;
  return {
    ...base,
    status: 'warn',
    detail:
      `${detail}; ` +
      (none
        ? 'sandbox still runs, mapping only your own ids (other owners show as nobody, `-u` other than 0 is refused)'
        : `fewer than ${FULL_RANGE}: images with higher ids cannot be unpacked`),
    fix,
  };
}

/** What is wrong with a device node for the current user, and the fix; null when usable. */
export function deviceProblem(node: NodeFact, module: string): { why: string; fix: string } | null {
  if (!node.exists) return { why: `${node.path} does not exist (module ${module} not loaded?)`, fix: `sudo modprobe ${module}` };
  if (node.type !== 'char') return { why: `${node.path} is not a character device`, fix: `sudo modprobe ${module}` };
  if (!node.access) {
    return { why: `${node.path} is mode ${oct(node.mode)}, not read-writable by you`, fix: `sudo chmod 0666 ${node.path}` };
  }
  return null;
}

/** A device as root sees it: usable, but say when unprivileged users are kept out. */
function rootDeviceNote(node: NodeFact): string {
  return othersCanUse(node) ? `mode ${oct(node.mode)}: usable by all users` : `mode ${oct(node.mode)}: root can use it, unprivileged users cannot`;
}

export function checkFuse(f: HostFacts): DoctorCheck {
  const base = { id: 'fuse' as const, title: '/dev/fuse' };
  const nativeOk = f.tries.overlay?.ok === true;
  const problem = deviceProblem(f.devFuse, 'fuse');
  if (isRoot(f) && !problem) {
    const note = rootDeviceNote(f.devFuse);
    if (!othersCanUse(f.devFuse) && !nativeOk) {
      return { ...base, status: 'warn', detail: `${note}; they need it: native overlay does not work here`, fix: `sudo chmod 0666 ${f.devFuse.path}` };
    }
    return { ...base, status: 'ok', detail: othersCanUse(f.devFuse) ? note : `${note} (not needed: native overlay works)` };
  }
  if (!problem) return { ...base, status: 'ok', detail: `read-writable (mode ${oct(f.devFuse.mode)})` };
  if (nativeOk) {
    return { ...base, status: 'warn', detail: `${problem.why}; not needed while native overlay works (fuse-overlayfs is the fallback)`, fix: problem.fix };
  }
  return { ...base, status: 'fail', detail: `${problem.why}; fuse-overlayfs needs it, native overlay does not work here`, fix: problem.fix };
}

export function checkCow(f: HostFacts): DoctorCheck {
  const base = { id: 'cow' as const, title: 'copy-on-write root' };
  const native = f.tries.overlay;
  const fuse = f.tries.fuseOverlay;
  const hasFuseTool = f.tools['fuse-overlayfs'] !== undefined;
  const fuseState = !hasFuseTool
    ? 'fuse-overlayfs not installed'
    : fuse === null
      ? 'fuse-overlayfs present (not tried)'
      : fuse.ok
        ? 'fuse-overlayfs works too'
        : deviceProblem(f.devFuse, 'fuse')
          ? 'fuse-overlayfs fails (no access to /dev/fuse, see below)'
          : `fuse-overlayfs fails: ${fuse.error ?? 'unknown error'}`;
  if (native?.ok) return { ...base, status: 'ok', detail: `native overlayfs works in a user namespace; ${fuseState}` };
  const nativeState = native === null ? 'native overlayfs not tried' : `native overlayfs fails (kernel ${f.kernelRelease}; needs >= 5.11): ${native.error ?? 'unknown error'}`;
  if (fuse?.ok) return { ...base, status: 'ok', detail: `fuse-overlayfs works (slower than native); ${nativeState}` };
  if (!hasFuseTool) {
    return { ...base, status: native === null ? 'warn' : 'fail', detail: `${nativeState}; ${fuseState}`, fix: 'sudo apt-get install fuse-overlayfs' };
  }
  const dev = deviceProblem(f.devFuse, 'fuse');
  if (fuse === null && !dev) {
    return { ...base, status: 'warn', detail: `${nativeState}; ${fuseState}` };
  }
  return {
    ...base,
    status: native === null && fuse === null ? 'warn' : 'fail',
    detail: `${nativeState}; ${fuseState}`,
    ...(dev ? { fix: dev.fix } : {}),
  };
}

/** The user-mode network helpers of the network drivers (src/network/driver.ts): any one found will do. */
export function checkNetwork(f: HostFacts): DoctorCheck {
  const base = { id: 'network' as const, title: 'user-mode networking' };
  const found = NETWORK_TOOLS.map((t) => f.tools[t.name as ToolName]).filter((t) => t !== undefined);
  if (found.length > 0) return { ...base, status: 'ok', detail: found.map((t) => t.path).join(', ') };
  const [first, ...others] = NETWORK_TOOLS;
  const without = NETWORK_MODES.filter((m) => networkModeTools(m).length === 0).map((m) => `\`--network ${m}\``);
  const alternatives = others.map((t) => `\`sudo apt-get install ${t.debianPackage}\` for ${t.name}`).join(', ');
  return {
    ...base,
    status: 'warn',
    detail: `neither ${NETWORK_TOOLS.map((t) => t.name).join(' nor ')} found: only ${without.join(' and ')} work${alternatives ? ` (or ${alternatives})` : ''}`,
    fix: `sudo apt-get install ${first!.debianPackage}`,
  };
}

export function checkTun(f: HostFacts): DoctorCheck {
  const base = { id: 'tun' as const, title: '/dev/net/tun' };
  const problem = deviceProblem(f.devNetTun, 'tun');
  if (isRoot(f) && !problem) {
    const note = rootDeviceNote(f.devNetTun);
    if (!othersCanUse(f.devNetTun)) {
      return { ...base, status: 'warn', detail: `${note}: their slirp4netns/pasta networking will fail`, fix: `sudo chmod 0666 ${f.devNetTun.path}` };
    }
    return { ...base, status: 'ok', detail: note };
  }
  if (!problem) return { ...base, status: 'ok', detail: `read-writable (mode ${oct(f.devNetTun.mode)})` };
  return {
    ...base,
    status: 'warn',
    detail: `${problem.why}: slirp4netns/pasta networking fails; \`--network none|host\` work`,
    fix: problem.fix,
  };
}

export function checkXdgRuntime(f: HostFacts): DoctorCheck {
  const base = { id: 'xdg-runtime' as const, title: 'XDG_RUNTIME_DIR' };
  const fallback = `/tmp/sandbox-${f.user.uid}`;
  const runUser = f.runUserDir;
  const runUserGood = runUser.exists && runUser.type === 'dir' && runUser.uid === f.user.uid && (runUser.mode! & 0o077) === 0;
  const useRunUser = `export XDG_RUNTIME_DIR=${runUser.path}`;
  const makeRunUser = f.systemd
    ? `sudo loginctl enable-linger ${shq(userArg(f))} && ${useRunUser}`
    : `sudo install -d -m 0700 -o ${shq(userArg(f))} -g ${f.user.gid} ${runUser.path} && ${useRunUser}`;
  const fixForOther = runUserGood ? useRunUser : makeRunUser;
  const v = f.xdgRuntimeDir;
  if (v === null || v === '') {
    return { ...base, status: 'warn', detail: `not set: sandbox keeps live state in ${fallback} instead`, fix: fixForOther };
  }
  if (!v.startsWith('/')) {
    return { ...base, status: 'warn', detail: `${v} is not absolute, so it is ignored: sandbox uses ${fallback}`, fix: fixForOther };
  }
  const n = f.xdgRuntimeNode;
  const otherRunUser = /^\/run\/user\/\d+\/?$/.test(v) && v.replace(/\/$/, '') !== runUser.path;
  if (otherRunUser) {
    return { ...base, status: 'warn', detail: `${v} is another user's runtime dir (left over from \`su\`?)`, fix: fixForOther };
  }
  if (!n || !n.exists) {
    return {
      ...base,
      status: 'warn',
      detail: `${v} does not exist`,
      fix: v === runUser.path ? makeRunUser : `sudo install -d -m 0700 -o ${shq(userArg(f))} -g ${f.user.gid} ${shq(v)}`,
    };
  }
  if (n.type !== 'dir') return { ...base, status: 'warn', detail: `${v} is not a directory`, fix: fixForOther };
  if (n.uid !== f.user.uid) {
    return {
      ...base,
      status: 'warn',
      detail: `${v} belongs to uid ${n.uid}, not to you (left over from \`su\`?)`,
      fix: v === runUser.path ? makeRunUser : fixForOther,
    };
  }
  if (((n.mode ?? 0) & 0o777) !== 0o700) {
    return { ...base, status: 'warn', detail: `${v} is mode ${oct(n.mode)}, should be 0700`, fix: `chmod 0700 ${shq(v)}` };
  }
  return { ...base, status: 'ok', detail: `${v} (yours, mode 0700)` };
}

/** The limits doctor reports on, each with the mechanism that would bound it for this user. */
const DOCTOR_LIMITS: LimitName[] = ['memory', 'memorySwap', 'cpus', 'cpuShares', 'cpusetCpus', 'pidsLimit', 'cpusetMems', 'memorySwappiness', 'oomKillDisable', 'deviceReadBps', 'blkioWeight'];

export function checkCgroup(f: HostFacts): DoctorCheck {
  const base = { id: 'cgroup' as const, title: 'cgroups (resource limits)' };
  const c = f.cgroup;
  const host: CgroupHost = c.limits?.host ?? { fsRoot: '/sys/fs/cgroup', layout: c.layout, uid: f.user.uid };
  const by = DOCTOR_LIMITS.map((n) => [n, mechanismOf(n, host, RLIMIT_FLAG !== undefined)] as const);
  const enforced = by.map(([n, m]) => `${LIMIT_OPTION[n]} ${m}`).join(', ');
  // The I/O weight needs the BFQ scheduler (a disk's choice, not a delegation): reported, never a warning of its own.
  const unbounded = by.filter(([n, m]) => m === 'none' && n !== 'memorySwap' && n !== 'blkioWeight').map(([n]) => LIMIT_OPTION[n]);
  const scope = host.v2 && !host.v2.inside && host.v2.viaScope
    ? ` (cgroup-v2 through a systemd --user scope: you are outside user@${host.uid}.service${c.ownPath ? `, in ${c.ownPath}` : ''}, so each sandbox's processes start in a transient scope of your manager)`
    : '';
  if (!unbounded.length) return { ...base, status: 'ok', detail: `limits enforced by: ${enforced}${scope}` };
  const { why } = whyUnenforced(host);
  const refused = `${unbounded.join(', ')} are refused (or run unbounded with --unenforced-limits, and a warning); by mechanism: ${enforced}${scope}`;
  const delegateFix =
    `sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload`;
  if (host.layout === 'none') return { ...base, status: 'warn', detail: `${why}: ${refused}`, fix: 'sudo mount -t cgroup2 none /sys/fs/cgroup' };
  if (host.layout === 'unified') {
    if (host.v2 && !host.v2.inside && !host.v2.viaScope) {
      return { ...base, status: 'warn', detail: `${why}${c.ownPath ? ` (you are in ${c.ownPath})` : ''}: ${refused}`, fix: host.v2.noScope?.fix ?? 'systemd-run --user --scope --quiet sandbox run ...' };
    }
    return { ...base, status: 'warn', detail: `${why}: ${refused}` + (f.systemd ? '; after the fix, log in again (a systemd user session)' : ''), ...(f.systemd ? { fix: delegateFix } : {}) };
  }
  const user = f.user.name ?? String(f.user.uid);
  const cmds = v1DelegationCommands(host.fsRoot, f.user.uid, user, c.limits?.v1Controllers ?? ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'freezer']);
  return {
    ...base,
    status: 'warn',
    detail: `${why}: ${refused}. The fix, run once by an administrator, gives ${user} a v1 subtree of each controller; to keep it across reboots: ${cmds.boot}. ` +
      'The long-term option: the unified cgroup v2 hierarchy (boot with systemd.unified_cgroup_hierarchy=1), where systemd delegates to every user',
    fix: cmds.now,
  };
}

export function checkHelper(f: HostFacts): DoctorCheck {
  const base = { id: 'helper' as const, title: 'C helper' };
  if (!f.repoRoot || !f.helper) {
    return { ...base, status: 'fail', detail: 'cannot find the sandbox installation (no package.json with helpers/ above the bundle)' };
  }
  const root = shq(f.repoRoot);
  const noCompiler = f.tools.cc === undefined || f.tools.make === undefined;
  const build = `${noCompiler ? 'sudo apt-get install gcc make libc6-dev && ' : ''}cd ${root} && npm run build`;
  if (!f.helper.exists) {
    return {
      ...base,
      status: 'fail',
      detail: `${f.helper.path} is not built` + (noCompiler ? ' (and no C compiler/make: `cc` and `make` are needed)' : ''),
      fix: build,
    };
  }
  if (f.helper.type !== 'file' || !(((f.helper.mode ?? 0) & 0o111) !== 0)) {
    return { ...base, status: 'fail', detail: `${f.helper.path} is not an executable file`, fix: build };
  }
  return { ...base, status: 'ok', detail: f.helper.path };
}

function checkStoreDir(f: HostFacts, d: StoreDirFact): { status: CheckStatus; why: string; fix?: string } | null {
  const n = d.node;
  const who = shq(userArg(f));
  if (d.role === 'runtime' && d.link) {
    return {
      status: 'fail',
      why: `${d.path} is a symbolic link, which sandbox never follows for its runtime directory`,
      fix: f.store.runtimeIsFallback ? `sudo rm ${shq(d.path)}` : `rm ${shq(d.path)}`,
    };
  }
  if (n.exists) {
    if (n.type !== 'dir') return { status: 'fail', why: `${d.path} exists and is not a directory`, fix: `mv ${shq(d.path)} ${shq(d.path)}.old` };
    if (n.uid !== f.user.uid) {
      return {
        status: 'fail',
        why: `${d.path} belongs to uid ${n.uid}, not to you`,
        fix: d.role === 'runtime' && f.store.runtimeIsFallback ? `sudo rm -rf ${shq(d.path)}` : `sudo chown -R ${who} ${shq(d.path)}`,
      };
    }
    if (!n.access) return { status: 'fail', why: `${d.path} is not writable (mode ${oct(n.mode)})`, fix: `chmod u+rwx ${shq(d.path)}` };
    if (((n.mode ?? 0) & 0o077) !== 0) {
      // The store is private (state/store-dirs.ts): others could run the setuid files of images as you.
      return { status: 'warn', why: `${d.path} is mode ${oct(n.mode)}, should be 0700 (others can enter it)`, fix: `chmod 0700 ${shq(d.path)}` };
    }
    return null;
  }
  const a = d.ancestor;
  if (!a || !a.exists || a.type !== 'dir') return { status: 'fail', why: `${d.path} cannot be created: no existing parent directory` };
  if (a.search === false) {
    return { status: 'fail', why: `${d.path} cannot be created: ${a.path} is not reachable by you` };
  }
  if (!a.access) {
    return {
      status: 'fail',
      why: `${d.path} cannot be created: ${a.path} is not writable by you`,
      fix: `sudo install -d -m 0700 -o ${who} -g ${f.user.gid} ${shq(d.path)}`,
    };
  }
  return null;
}

export function checkStore(f: HostFacts): DoctorCheck {
  const base = { id: 'store' as const, title: 'state directories' };
  const xdg = checkXdgRuntime(f);
  const underXdg = !f.store.overridden && !f.store.runtimeIsFallback;
  const results = [f.store.data, f.store.runtime].map((d) => {
    const r = checkStoreDir(f, d);
    // A runtime dir under a wrong XDG_RUNTIME_DIR: fix the variable, not the directory.
    if (r && d.role === 'runtime' && underXdg && xdg.status !== 'ok') {
      return { d, r: { ...r, why: `${r.why} (XDG_RUNTIME_DIR is wrong, see above)`, ...(xdg.fix ? { fix: xdg.fix } : {}) } };
    }
    return { d, r };
  });
  const bad = results.filter((x) => x.r !== null);
  const describe = (d: StoreDirFact) => `${d.role} ${d.path}${d.node.exists ? '' : ' (will be created)'}`;
  if (bad.length === 0) {
    return { ...base, status: 'ok', detail: results.map((x) => describe(x.d)).join('; ') };
  }
  const status: CheckStatus = bad.some((x) => x.r!.status === 'fail') ? 'fail' : 'warn';
  const fixes = bad.map((x) => x.r!.fix).filter((x): x is string => !!x);
  return {
    ...base,
    status,
    detail:
      bad.map((x) => x.r!.why).join('; ') +
      (f.store.overridden ? ' (choose a --root / SANDBOX_ROOT you can write to)' : ' (or choose another place with --root DIR / SANDBOX_ROOT)'),
    ...(fixes.length ? { fix: fixes.join(' && ') } : {}),
  };
}

function checkTools(f: HostFacts): DoctorCheck {
  const base = { id: 'tools' as const, title: 'util-linux tools' };
  const wanted: ToolName[] = ['unshare', 'nsenter', 'mount', 'setpriv', 'prlimit'];
  const missing = wanted.filter((t) => f.tools[t] === undefined);
  if (missing.length === 0) return { ...base, status: 'ok', detail: wanted.join(', ') };
  return {
    ...base,
    status: 'warn',
    detail: `not found: ${missing.join(', ')}`,
    fix: `sudo apt-get install ${missing.includes('mount') ? 'util-linux mount' : 'util-linux'}`,
  };
}

/** Tools some image work needs: GNU tar (`export`), zstd (zstd-compressed layers, which Node 20 cannot read). */
export function checkImageTools(f: HostFacts): DoctorCheck {
  const base = { id: 'image-tools' as const, title: 'image tools' };
  const missing = (['tar', 'zstd'] as const).filter((t) => f.tools[t] === undefined);
  if (missing.length === 0) return { ...base, status: 'ok', detail: 'tar, zstd' };
  const uses = missing.map((t) => (t === 'tar' ? '`export` and `cp`' : 'images with zstd-compressed layers')).join('; ');
  return { ...base, status: 'warn', detail: `not found: ${missing.join(', ')}: ${uses} will fail`, fix: `sudo apt-get install ${missing.join(' ')}` };
}

/** Root runs the fixes itself (and `sudo` may not even be installed): drop the `sudo `. */
function fixForCaller(f: HostFacts, fix: string): string {
  return isRoot(f) ? fix.replace(/(^|&& |\| )sudo /g, '$1') : fix;
}

/** All checks, in the order they are printed. */
export function runChecks(f: HostFacts): DoctorCheck[] {
  const checks = [
    checkUserns(f),
    checkUidmap(f),
    checkSubids(f),
    checkCow(f),
    checkFuse(f),
    checkNetwork(f),
    checkTun(f),
    checkUnprivilegedPorts(f),
    ...checkNetworkModes(f),
    checkXdgRuntime(f),
    checkCgroup(f),
    checkHelper(f),
    checkStore(f),
    checkTools(f),
    checkImageTools(f),
  ];
  return checks.map((c) => (c.fix === undefined ? c : { ...c, fix: fixForCaller(f, c.fix) }));
}

/** The report: checks plus the verdict (`run` works unless a check failed). */
export function buildReport(f: HostFacts): DoctorReport {
  const checks = runChecks(f);
  const problems = checks.filter((c) => c.status === 'fail').length;
  const warnings = checks.filter((c) => c.status === 'warn').length;
  const notes: string[] = [];
  if (isRoot(f)) {
    notes.push(
      'running as root: sandbox is meant for unprivileged users. Root bypasses the user-namespace switches, ' +
        'needs no subordinate ids and can open any device, so those lines describe root; ' +
        "check a user's setup with `su USER -c 'sandbox doctor'`.",
    );
  }
  return { user: f.user, isRoot: isRoot(f), canRun: problems === 0, problems, warnings, notes, checks };
}
