/**
 * `sandbox doctor`, the looking half: gathers `HostFacts` from the real machine.
 *
 * `gatherStaticFacts()` is synchronous and only reads small files and stats paths;
 * `gatherHostFacts()` adds the real attempts: a user namespace, an overlay mount and a fuse-overlayfs mount inside
 * one, newuidmap/newgidmap on a live namespace, and `getcap`.
 *
 * Node built-ins and execa (loaded on first use, see src/execa.ts): this module must stay light.
 */
import { gatherNetworkFacts } from './network-checks.js';
import { accessSync, constants, existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { homedir, release, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { loadExeca } from '../execa.js';
import { detectCgroupHost, mountedV1Controllers } from '../runtime/cgroup/detect.js';
import { resolveStorePaths, runtimeFallback } from '../state/paths.js';
import {
  parseSubIds,
  subIdsOf,
  type CgroupFacts,
  type HostFacts,
  type NodeFact,
  type StoreDirFact,
  type ToolFact,
  type ToolName,
  type TryResult,
} from './checks.js';

export interface ProbeOptions {
  /** `--root` from the command line (beats SANDBOX_ROOT), as resolveStorePaths takes it. */
  rootOverride?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

const TOOLS: ToolName[] = [
  'unshare', 'nsenter', 'mount', 'setpriv', 'prlimit', 'newuidmap', 'newgidmap',
  'fuse-overlayfs', 'slirp4netns', 'pasta', 'getcap', 'cc', 'make', 'tar', 'zstd',
];
/** Searched after PATH: an unprivileged user's PATH often lacks the sbin dirs (getcap). */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/* ------------------------------------ helpers ------------------------------------ */

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readInt(path: string): number | null {
  const t = readText(path);
  if (t === null) return null;
  const n = Number.parseInt(t.trim(), 10);
  return Number.isFinite(n) ? n : null;
}

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** stat + access of one path (never throws). */
function statNode(path: string): NodeFact {
  try {
    const st = statSync(path);
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isCharacterDevice() ? 'char' : 'other';
    const mode = type === 'dir' ? constants.W_OK | constants.X_OK : constants.R_OK | constants.W_OK;
    const fact: NodeFact = { path, exists: true, type, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, access: canAccess(path, mode) };
    if (type === 'dir') fact.search = canAccess(path, constants.X_OK);
    return fact;
  } catch {
    return { path, exists: false };
  }
}

/** First executable `name` on PATH (then the usual sbin/bin dirs). */
export function findTool(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/')), ...EXTRA_DIRS];
  for (const dir of new Set(dirs)) {
    const p = join(dir, name);
    if (canAccess(p, constants.X_OK)) {
      try {
        if (statSync(p).isFile()) return p;
      } catch {
        /* raced away */
      }
    }
  }
  return null;
}

function toolFact(path: string): ToolFact | undefined {
  try {
    const st = statSync(path);
    return { path, uid: st.uid, mode: st.mode & 0o7777, caps: null };
  } catch {
    return undefined;
  }
}

/** Capability names out of `getcap` output, old (`= cap_x+ep`) and new (`cap_x=ep`) formats. */
export function parseGetcap(output: string): string[] {
  return [...new Set(output.toLowerCase().match(/cap_[a-z_]+/g) ?? [])];
}

/** The v2 and v1 cgroup mounts from /proc/self/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): { v2: string | null; v1: boolean } {
  let v2: string | null = null;
  let v1 = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') {
      // Prefer /sys/fs/cgroup when there are several (nested containers).
      if (v2 === null || mountPoint === '/sys/fs/cgroup') v2 = mountPoint;
    } else if (fstype === 'cgroup') {
      v1 = true;
    }
  }
  return { v2, v1 };
}

function cgroupFacts(uid: number): CgroupFacts {
  // The limits' own detection (what run uses); the rest below is what doctor says of the layout.
  const { v2, v1 } = parseCgroupMounts(readText('/proc/self/mountinfo') ?? '');
  const layout: CgroupFacts['layout'] = v2 === null ? (v1 ? 'v1' : 'none') : v1 ? 'hybrid' : v2 === '/sys/fs/cgroup' ? 'unified' : 'hybrid';
  const ownLine = (readText('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
  const ownPath = ownLine ? ownLine.slice(3).replace(/ \(deleted\)$/, '') || '/' : null;
  let delegated: CgroupFacts['delegated'] = null;
  if (v2 !== null && layout === 'unified') {
    // Candidates, top-down: the ancestors of our own cgroup, then the user's systemd service.
    const candidates: string[] = [];
    if (ownPath) {
      const parts = ownPath.split('/').filter(Boolean);
      candidates.push('/');
      for (let i = 1; i <= parts.length; i++) candidates.push('/' + parts.slice(0, i).join('/'));
    }
    candidates.push(`/user.slice/user-${uid}.slice/user@${uid}.service`);
    for (const cg of candidates) {
      const dir = join(v2, cg);
      let owner: number;
      try {
        owner = statSync(dir).uid;
      } catch {
        continue;
      }
      const writable =
        canAccess(join(dir, 'cgroup.subtree_control'), constants.W_OK) && canAccess(join(dir, 'cgroup.procs'), constants.W_OK);
      if (writable && (uid === 0 || owner === uid)) {
        const controllers = (readText(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
        delegated = { path: cg, controllers };
        break;
      }
    }
  }
  const host = detectCgroupHost(uid);
  return { layout, v2Mount: v2, ownPath, delegated, limits: { host, v1Controllers: mountedV1Controllers(host.fsRoot) } };
}

/** The repository root: the nearest directory above this code with package.json and helpers/. */
function findRepoRoot(): string | null {
  const starts: string[] = [];
  // Bundled to CommonJS (dist/sandbox.cjs) or run from source by tsx: __dirname is defined.
  if (typeof __dirname === 'string') starts.push(__dirname);
  const main = require.main?.filename;
  if (main) starts.push(dirname(main));
  for (const start of starts) {
    let dir = start;
    for (let i = 0; i < 6; i++) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'helpers'))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return null;
}

function storeDir(role: 'data' | 'runtime', path: string): StoreDirFact {
  const node = statNode(path);
  let ancestor: NodeFact | null = null;
  if (!node.exists) {
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const n = statNode(dir);
      if (n.exists) {
        ancestor = n;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  let link = false;
  try { link = lstatSync(path).isSymbolicLink(); } catch { /* missing */ }
  return { role, path, node, ancestor, ...(link ? { link } : {}) };
}

/* --------------------------------- static facts --------------------------------- */

/** Everything that reading files and stat-ing paths can tell; no process is started. */
function gatherStaticFacts(opts: ProbeOptions = {}): HostFacts {
  const env = opts.env ?? process.env;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let name: string | null = null;
  let home = env.HOME || '';
  try {
    const info = userInfo();
    name = info.username;
    home ||= info.homedir;
  } catch {
    /* no passwd entry for this uid */
  }
  home ||= homedir();
  const overridden = !!(opts.rootOverride || env.SANDBOX_ROOT);
  const paths = resolveStorePaths({ env, uid, home, rootOverride: opts.rootOverride });
  const tools: HostFacts['tools'] = {};
  for (const t of TOOLS) {
    const p = findTool(t, env);
    const fact = p ? toolFact(p) : undefined;
    if (fact) tools[t] = fact;
  }
  const subuidText = readText('/etc/subuid');
  const subgidText = readText('/etc/subgid');
  const repoRoot = findRepoRoot();
  const xdg = env.XDG_RUNTIME_DIR ?? null;
  return {
    user: { uid, gid, name },
    kernelRelease: release(),
    sysctl: {
      maxUserNamespaces: readInt('/proc/sys/user/max_user_namespaces'),
      unprivilegedUsernsClone: readInt('/proc/sys/kernel/unprivileged_userns_clone'),
      apparmorRestrictUnprivilegedUserns: readInt('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    },
    apparmorSandboxProfile: /\buserns\b/.test(readText('/etc/apparmor.d/sandbox') ?? ''),
    tools,
    subuid: subuidText === null ? null : parseSubIds(subuidText),
    subgid: subgidText === null ? null : parseSubIds(subgidText),
    devFuse: statNode('/dev/fuse'),
    devNetTun: statNode('/dev/net/tun'),
    tries: { userns: null, overlay: null, fuseOverlay: null, idmap: null },
    xdgRuntimeDir: xdg,
    xdgRuntimeNode: xdg && xdg.startsWith('/') ? statNode(xdg) : null,
    runUserDir: statNode(`/run/user/${uid}`),
    systemd: existsSync('/run/systemd/system'),
    cgroup: cgroupFacts(uid),
    repoRoot,
    helper: repoRoot ? statNode(join(repoRoot, 'helpers/build/sandbox-launch')) : null,
    store: {
      data: storeDir('data', paths.data),
      runtime: storeDir('runtime', paths.runtime),
      runtimeIsFallback: paths.runtime === runtimeFallback(uid),
      overridden,
    },
    network: gatherNetworkFacts(),
  };
}

/* ------------------------------------ the tries ------------------------------------ */

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

const TRY_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

/**
 * Runs a command (execa: output collected, a spawn error is a result, not a throw) in its own
 * process group; on timeout the whole group is killed, by our timer: execa's `timeout`
 * signals the command alone, and what a mount script started would keep its pipes open.
 */
async function exec(file: string, args: string[], timeoutMs = 5000): Promise<ExecResult> {
  const { execa } = await loadExeca();
  const child = execa(file, args, { stdin: 'ignore', detached: true, env: TRY_ENV, reject: false, stripFinalNewline: false });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, timeoutMs);
  const r = await child;
  clearTimeout(timer);
  const ran = { code: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
  if (timedOut) return { ...ran, error: `timed out after ${timeoutMs / 1000}s` };
  if (r.signal) return { ...ran, error: `killed by ${r.signal}` };
  // Not started at all (ENOENT, EACCES): execa's message names the reason and the command.
  return r.exitCode === undefined ? { ...ran, error: (r.shortMessage ?? 'did not start').split('\n')[0] } : ran;
}

/** The gist of a failure: the last non-empty stderr lines, short. */
function errorText(r: ExecResult): string {
  if (r.error) return r.error;
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const text = lines.slice(-2).join(' / ') || `exit status ${r.code}`;
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

function toTry(r: ExecResult): TryResult {
  return r.code === 0 && !r.error ? { ok: true } : { ok: false, error: errorText(r) };
}

const OVERLAY_SCRIPT = `set -e
d=$1
mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
echo lower > "$d/l/f"
mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m"
echo upper > "$d/m/f"
umount "$d/m"
rm -rf "$d/u" "$d/w"`;

const FUSE_OVERLAY_SCRIPT = `set -e
d=$1
mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
echo lower > "$d/l/f"
fuse-overlayfs -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m"
echo upper > "$d/m/f" || { umount "$d/m"; exit 1; }
umount "$d/m" || fusermount3 -u "$d/m" || fusermount -u "$d/m"
rm -rf "$d/u" "$d/w"`;

/** Runs an overlay script inside `unshare --user --map-root-user --mount`, in a fresh temp dir. */
async function tryMountScript(unshare: string, script: string, base: string): Promise<TryResult> {
  let dir: string;
  try {
    dir = await mkdtemp(join(base, '.sandbox-doctor-'));
  } catch (err) {
    return { ok: false, error: `cannot make a temp dir in ${base}: ${(err as Error).message}` };
  }
  try {
    return toTry(await exec(unshare, ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', dir]));
  } finally {
    // overlayfs leaves work/work mode 000; make everything removable first.
    await chmod(join(dir, 'w', 'work'), 0o700).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

function userNsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return null;
  }
}

/** newuidmap/newgidmap on a real, fresh user namespace: own id -> 0, first subordinate range -> 1.. */
async function tryIdmap(f: HostFacts): Promise<TryResult | null> {
  const { unshare, newuidmap, newgidmap } = f.tools;
  const sleep = findTool('sleep');
  if (f.user.uid === 0 || !unshare || !newuidmap || !newgidmap || !sleep) return null;
  const su = subIdsOf(f.subuid, f.user.name, f.user.uid)[0];
  const sg = subIdsOf(f.subgid, f.user.name, f.user.uid)[0];
  if (!su || !sg) return null;
  const { execa } = await loadExeca();
  const child = execa(unshare.path, ['--user', '--', sleep, '10'], { stdio: 'ignore', reject: false });
  try {
    const pid = child.pid;
    if (!pid) return null;
    const ours = userNsOf(process.pid);
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && child.exitCode === null) {
      const ns = userNsOf(pid);
      if (ns !== null && ns !== ours) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const ns = userNsOf(pid);
    if (ns === null || ns === ours) return null; // no user namespace at all: the userns check says why
    const u = await exec(newuidmap.path, [String(pid), '0', String(f.user.uid), '1', '1', String(su.start), String(su.count)]);
    if (u.code !== 0 || u.error) return { ok: false, error: `newuidmap: ${errorText(u)}` };
    const g = await exec(newgidmap.path, [String(pid), '0', String(f.user.gid), '1', '1', String(sg.start), String(sg.count)]);
    if (g.code !== 0 || g.error) return { ok: false, error: `newgidmap: ${errorText(g)}` };
    return { ok: true };
  } finally {
    child.kill('SIGKILL');
    await child;
  }
}

async function getcaps(f: HostFacts): Promise<void> {
  const getcap = f.tools.getcap;
  if (!getcap) return;
  await Promise.all(
    (['newuidmap', 'newgidmap'] as const).map(async (t) => {
      const tool = f.tools[t];
      if (!tool) return;
      const r = await exec(getcap.path, [tool.path]);
      if (r.code === 0) tool.caps = parseGetcap(r.stdout.slice(r.stdout.indexOf(tool.path) + tool.path.length));
    }),
  );
}

/** The first line of `NAME --version` that says it (pasta also complains of a missing syslog). */
export function parseToolVersion(name: string, output: string): string | null {
  for (const line of output.split('\n')) {
    const m = new RegExp(`^${name} (?:version )?(\\S+)`).exec(line.trim());
    if (m) return m[1] === 'unknown' ? null : m[1]!;
  }
  return null;
}

/** The versions of slirp4netns and pasta; Debian's pasta says "unknown version": then its package's. */
async function networkVersions(f: HostFacts): Promise<NonNullable<HostFacts['networkVersions']>> {
  const out: NonNullable<HostFacts['networkVersions']> = {};
  await Promise.all((['slirp4netns', 'pasta'] as const).map(async (name) => {
    const tool = f.tools[name];
    if (!tool) return;
    const r = await exec(tool.path, ['--version']);
    let version = parseToolVersion(name, `${r.stdout}\n${r.stderr}`);
    if (version === null && name === 'pasta') {
      const dpkg = findTool('dpkg-query');
      const p = dpkg ? await exec(dpkg, ['-W', '-f', '${Version}', 'passt']) : null;
      if (p?.code === 0 && p.stdout.trim()) version = `(Debian package passt ${p.stdout.trim()})`;
    }
    out[name] = version;
  }));
  return out;
}

/** All facts, with the real attempts. Takes a fraction of a second; leaves nothing behind. */
export async function gatherHostFacts(opts: ProbeOptions = {}): Promise<HostFacts> {
  const f = gatherStaticFacts(opts);
  const unshare = f.tools.unshare?.path;
  // With our AppArmor profile in place, `unshare` itself stays confined: trying it proves nothing.
  const confined = f.sysctl.apparmorRestrictUnprivilegedUserns === 1 && f.apparmorSandboxProfile && f.user.uid !== 0;
  // Try overlays where the writable layers will live (the data dir), when it exists already.
  const base = f.store.data.node.exists && f.store.data.node.access ? f.store.data.path : tmpdir();
  const [userns, overlay, fuseOverlay, idmap, , versions] = await Promise.all([
    unshare && !confined ? exec(unshare, ['--user', '--map-root-user', 'true']).then(toTry) : null,
    unshare && !confined ? tryMountScript(unshare, OVERLAY_SCRIPT, base) : null,
    unshare && !confined && f.tools['fuse-overlayfs'] ? tryMountScript(unshare, FUSE_OVERLAY_SCRIPT, base) : null,
    tryIdmap(f),
    getcaps(f),
    networkVersions(f),
  ]);
  f.networkVersions = versions;
  // If no user namespace can be made at all, the mount tries say nothing about overlays.
  const usernsFailed = userns !== null && !userns.ok;
  f.tries = {
    userns,
    overlay: usernsFailed ? null : overlay,
    fuseOverlay: usernsFailed ? null : fuseOverlay,
    idmap,
  };
  return f;
}
