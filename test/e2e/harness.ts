/**
 * Helpers for black-box e2e tests: they drive `bin/sandbox` as an unprivileged user with
 * a subuid/subgid range, exactly as a person would.
 *
 * - Run as root (CI, most developer machines): commands run as the test user
 *   (SANDBOX_TEST_USER, else `sandbox-test`, else `sbx`) through `setpriv`, which execs
 *   straight into the command (no PAM, no shell, no extra process): fast and predictable.
 * - Run as anyone else: commands run as that user, directly.
 *
 * Either way a command gets a clean environment (HOME, PATH, USER, LOGNAME, SANDBOX_ROOT
 * and what the test adds), so nothing of the test runner's environment leaks into what is
 * being tested. Results never throw for a non-zero exit; a time-out does throw.
 *
 * node:child_process, not execa: tests need the bare child in a process group of its own
 * (signals, terminals, `killGroup` ending everything it started, also on a time-out, where
 * execa's `timeout` signals the command alone), and one `collect` for spawned and run commands.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chown, mkdtemp } from 'node:fs/promises';
import { constants as osConstants, tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

/** The checkout this file belongs to. */
export const REPO_ROOT = resolve(__dirname, '..', '..');
/** The launcher under test. */
export const SANDBOX_BIN = join(REPO_ROOT, 'bin', 'sandbox');

const DEFAULT_TIMEOUT_MS = 60_000;

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** True when commands must switch to this user (we run as root). */
  switchUser: boolean;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is empty. */
  input?: string;
  /** Added to (or overriding) the clean environment. */
  env?: Record<string, string>;
  /** Store directory, passed as SANDBOX_ROOT. Default: one store per test process. */
  root?: string;
  /** Kill the command's whole process group after this long, and throw. Default 60 s. */
  timeoutMs?: number;
  /** Working directory. Default: the test user's home (or / if it has none). */
  cwd?: string;
  /**
   * Run as this user (from `otherUser`) instead of the test user. Give it a `root` of its
   * own too (`newStore(t, user)`): the default store belongs to the test user.
   */
  user?: TestUser;
}

export interface RunResult {
  /** Exit status; 128+N when killed by signal N, as a shell reports it. */
  code: number;
  /** The signal that killed it, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

export interface SpawnOptions extends Omit<RunOptions, 'input' | 'timeoutMs'> {
  /** Default: all pipes. */
  stdio?: StdioOptions;
  /**
   * Put the child in its own process group (default true), so that `killGroup` reaches
   * everything it started. Set false to keep it in ours (e.g. to share a terminal).
   */
  detached?: boolean;
}

// ---------------------------------------------------------------------------------------
// The test user

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up through NSS (getent), by name or uid. Undefined when there is none. */
export function lookupUser(nameOrUid: string): PasswdEntry | undefined {
  const r = spawnSync('getent', ['passwd', nameOrUid], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n')[0] : undefined;
  if (!line) return undefined;
  const f = line.split(':');
  const [name, , uid, gid, , home] = f;
  if (name === undefined || uid === undefined || gid === undefined || home === undefined) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home };
}

let cachedUser: TestUser | undefined;
const otherUsers = new Map<string, TestUser>();

/**
 * Another unprivileged user (by name) to run things as, e.g. one without a subordinate id
 * range. Commands switch to it with setpriv, so the tests must run as root. Throws (with
 * the reason) when that is not possible; `otherUserProblems` says so without throwing.
 */
export function otherUser(name: string): TestUser {
  const known = otherUsers.get(name);
  if (known) return known;
  if (!isRoot()) {
    const me = userInfo();
    if (me.username === name) return { name, uid: me.uid, gid: me.gid, home: me.homedir, switchUser: false };
    throw new Error(needsRoot(`running as ${me.username}, commands cannot switch to ${name}`));
  }
  const e = lookupUser(name);
  if (!e) throw new Error(`no user ${name} exists`);
  if (e.uid === 0) throw new Error(`user ${name} is root; it must be an unprivileged user`);
  const user = { ...e, switchUser: true };
  otherUsers.set(name, user);
  return user;
}

/**
 * The unprivileged user the tests run `bin/sandbox` as. Throws (with the fix) when we
 * run as root and no test user exists.
 */
export function testUser(): TestUser {
  if (cachedUser) return cachedUser;
  if (!isRoot()) {
    const me = userInfo();
    cachedUser = { name: me.username, uid: me.uid, gid: me.gid, home: me.homedir, switchUser: false };
    return cachedUser;
  }
  const wanted = process.env.SANDBOX_TEST_USER;
  const candidates = wanted ? [wanted] : ['sandbox-test', 'sbx'];
  for (const name of candidates) {
    const e = lookupUser(name);
    if (e) {
      if (e.uid === 0) throw new Error(`SANDBOX_TEST_USER=${name} is root; the e2e tests need an unprivileged user`);
      cachedUser = { ...e, switchUser: true };
      return cachedUser;
    }
  }
  throw new Error(
    `no unprivileged test user (${candidates.join(', ')}) exists; running as root, the e2e tests need one.\n` +
    'hint: run `bash .ci/run` once (it creates `sandbox-test` with a subuid range), or set SANDBOX_TEST_USER',
  );
}

/** The directory shared with the test user for temporary things: /tmp as root. */
export function sharedTmp(): string {
  return isRoot() ? '/tmp' : tmpdir();
}

// ---------------------------------------------------------------------------------------
// Running things as the test user

function cleanEnv(user: TestUser, extra: Record<string, string> | undefined, root: string | undefined): Record<string, string> {
  // The node that runs the tests runs bin/sandbox too (its shebang is `env node`).
  const nodeDir = dirname(process.execPath);
  const path = [nodeDir, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
    .filter((d, i, a) => a.indexOf(d) === i)
    .join(delimiter);
  const env: Record<string, string> = {
    HOME: user.home,
    PATH: path,
    USER: user.name,
    LOGNAME: user.name,
  };
  if (root !== undefined) env.SANDBOX_ROOT = root;
  return { ...env, ...extra };
}

function defaultCwd(user: TestUser): string {
  try {
    if (statSync(user.home).isDirectory()) return user.home;
  } catch {
    // no home: fall through
  }
  return '/';
}

/** The argv that runs `cmd args` as the test user (or as `as`). */
export function userCommand(cmd: string, args: readonly string[], as?: TestUser): [string, string[]] {
  const user = as ?? testUser();
  if (!user.switchUser) return [cmd, [...args]];
  // setpriv execs the command itself (runuser forks and goes through PAM): the pid we get
  // is the command's, signals reach it directly, and it costs ~1 ms.
  return ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', cmd, ...args]];
}

/** Starts `cmd args` as the test user (or `opts.user`), with a clean environment. */
export function spawnAsUser(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const user = opts.user ?? testUser();
  const [file, argv] = userCommand(cmd, args, user);
  return spawn(file, argv, {
    cwd: opts.cwd ?? defaultCwd(user),
    env: cleanEnv(user, opts.env, opts.root),
    stdio: opts.stdio ?? 'pipe',
    detached: opts.detached ?? true,
  });
}

/** Sends a signal to the child's whole process group (it was spawned detached). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return osConstants.signals[signal] ?? 0;
}

/** Waits for a spawned child and collects its output. Never throws for a non-zero exit. */
export function collect(child: ChildProcess, opts: { input?: string; timeoutMs?: number; what?: string } = {}): Promise<RunResult> {
  const started = process.hrtime.bigint();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<RunResult>((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    if (child.stdin) {
      child.stdin.on('error', () => { /* the command may exit without reading: fine */ });
      child.stdin.end(opts.input ?? '');
    }
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (timedOut) {
        reject(new Error(
          `${opts.what ?? 'command'} timed out after ${timeoutMs} ms and was killed\n` +
          `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
        ));
        return;
      }
      resolvePromise({ code: code ?? 128 + (signal ? signalNumber(signal) : 0), signal, stdout, stderr, ms });
    });
  });
}

/** Runs `cmd args` as the test user (podman, ls of the store, ...). */
export function asUser(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawnAsUser(cmd, args, { env: opts.env, root: opts.root, cwd: opts.cwd, user: opts.user });
  return collect(child, { input: opts.input, timeoutMs: opts.timeoutMs, what: [cmd, ...args].join(' ') });
}

/** Starts `bin/sandbox args` as the test user; for kill, signal and terminal tests. */
export function spawnSandbox(args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  if (opts.user && opts.root === undefined) {
    throw new Error(`spawnSandbox as ${opts.user.name} needs a root of its own: newStore(t, user)`);
  }
  return spawnAsUser(SANDBOX_BIN, args, { ...opts, root: opts.root ?? defaultStore() });
}

/** Runs `bin/sandbox args` as the test user and collects the result. */
export function runSandbox(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawnSandbox(args, { env: opts.env, root: opts.root, cwd: opts.cwd, user: opts.user });
  const who = opts.user ? ` (as ${opts.user.name})` : '';
  return collect(child, { input: opts.input, timeoutMs: opts.timeoutMs, what: `sandbox ${args.join(' ')}${who}` });
}

/** Runs `bin/sandbox args` as another user (see `otherUser`); `opts.root` is required. */
export function runSandboxAs(user: TestUser, args: readonly string[], opts: RunOptions & { root: string }): Promise<RunResult> {
  return runSandbox(args, { ...opts, user });
}

// ---------------------------------------------------------------------------------------
// Stores

/**
 * Makes an empty directory owned by the test user (or `owner`), mode 0700, under the
 * shared temp dir. Synchronous-safe cleanup is `removeUserTree`.
 */
export async function makeUserDir(prefix: string, owner?: TestUser): Promise<string> {
  const user = owner ?? testUser();
  const dir = await mkdtemp(join(sharedTmp(), prefix)); // mkdtemp makes it 0700
  if (user.switchUser) await chown(dir, user.uid, user.gid);
  return dir;
}

/**
 * Removes a tree the test user's sandboxes wrote: it may hold files owned by the user's
 * subordinate ids, which the user cannot remove directly. Root simply removes it; a user
 * does it as root of a user namespace that maps their subuid range (util-linux unshare
 * --map-auto, which runs newuidmap), falling back to a plain removal. Throws when
 * something is left (a leftover mount, say: that is a bug worth seeing).
 */
export function removeUserTree(dir: string): void {
  if (!existsSync(dir)) return;
  if (isRoot()) {
    const r = spawnSync('rm', ['-rf', '--one-file-system', '--', dir], { encoding: 'utf8' });
    if (r.status !== 0 || existsSync(dir)) throw new Error(`cannot remove ${dir}: ${r.stderr.trim()}`);
    return;
  }
  const viaNs = spawnSync('unshare', ['--user', '--map-root-user', '--map-auto', 'rm', '-rf', '--one-file-system', '--', dir], { encoding: 'utf8' });
  if (viaNs.status === 0 && !existsSync(dir)) return;
  const plain = spawnSync('rm', ['-rf', '--one-file-system', '--', dir], { encoding: 'utf8' });
  if (plain.status !== 0 || existsSync(dir)) {
    throw new Error(`cannot remove ${dir}: ${viaNs.stderr.trim()} / ${plain.stderr.trim()}`);
  }
}

/** The subset of node:test's TestContext the helpers use (so they work on suites too). */
export type TestLike = Pick<TestContext, 'after' | 'skip' | 'diagnostic'>;

/**
 * A fresh, empty store (the SANDBOX_ROOT for one test), owned by the test user (or
 * `owner`), removed after the test.
 */
export async function newStore(t: Pick<TestContext, 'after'>, owner?: TestUser): Promise<string> {
  const dir = await makeUserDir('sandbox-e2e-store-', owner);
  t.after(async () => {
    await removeSandboxesIn(dir, owner);
    removeUserTree(dir);
  });
  return dir;
}

/**
 * Ends every sandbox a test left in its store: deleting the store's files alone would
 * leave detached sandboxes running (deleting a directory ends no process).
 */
export async function removeSandboxesIn(root: string, owner?: TestUser): Promise<void> {
  const opts: RunOptions = { root, timeoutMs: 30_000, ...(owner ? { user: owner } : {}) };
  // Pods first: a pod's infra is removed with its pod only (as Podman), never by `rm -f`.
  let pods: string[] = [];
  try { pods = readdirSync(join(root, 'data', 'pods')).filter((e) => !e.startsWith('.')); } catch { /* none, or not ours to read */ }
  if (pods.length) await runSandbox(['pod', 'rm', '-f', ...pods], opts);
  const ids = lines((await runSandbox(['ps', '-a', '-q', '--no-trunc'], opts)).stdout);
  if (ids.length) await runSandbox(['rm', '-f', ...ids], opts);
}

/** A fresh, empty directory owned by the test user (for -v binds), removed after the test. */
export async function newUserDir(t: Pick<TestContext, 'after'>, prefix = 'sandbox-e2e-dir-'): Promise<string> {
  const dir = await makeUserDir(prefix);
  t.after(() => removeUserTree(dir));
  return dir;
}

let processStore: string | undefined;

/**
 * The store used when a test gives none: one per test process, removed when it exits,
 * so that a test that forgets `root` still never touches the user's real store.
 */
function defaultStore(): string {
  if (processStore) return processStore;
  const user = testUser();
  const r = spawnSync('mktemp', ['-d', join(sharedTmp(), 'sandbox-e2e-default-XXXXXX')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mktemp failed: ${r.stderr}`);
  const dir = r.stdout.trim();
  if (user.switchUser) spawnSync('chown', [`${user.uid}:${user.gid}`, dir]);
  processStore = dir;
  process.on('exit', () => {
    try {
      removeUserTree(dir);
    } catch (err) {
      process.stderr.write(`warning: ${(err as Error).message}\n`);
    }
  });
  return dir;
}

// ---------------------------------------------------------------------------------------
// Prerequisites

/** True when CI is set (to anything but empty, 0 or false). */
export function underCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export interface SubidRange {
  start: number;
  count: number;
}

/** The user's ranges in /etc/subuid or /etc/subgid, matched by name or by uid. */
export function subidRanges(file: '/etc/subuid' | '/etc/subgid', user: { name: string; uid: number }): SubidRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: SubidRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || start === undefined || count === undefined) continue;
    if (who === user.name || who === String(user.uid)) out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

function whichSync(cmd: string): string | undefined {
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** True when the file is setuid root, or carries file capabilities (getcap, if present). */
function privilegedHelper(path: string): boolean {
  const st = statSync(path);
  if ((st.mode & 0o4000) !== 0 && st.uid === 0) return true;
  const getcap = whichSync('getcap');
  if (!getcap) return false;
  const r = spawnSync(getcap, [path], { encoding: 'utf8' });
  return /cap_setuid|cap_setgid/.test(r.stdout);
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Returns the reasons the test user (or `as`) cannot run bin/sandbox at all (empty when it can). */
export function userProblems(as?: TestUser): string[] {
  let user: TestUser;
  try {
    user = as ?? testUser();
  } catch (err) {
    return [(err as Error).message];
  }
  const problems: string[] = [];
  if (!existsSync(join(REPO_ROOT, 'dist', 'sandbox.cjs'))) problems.push('bin/sandbox is not built: run `npm run build`');
  if (user.switchUser) {
    const r = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--',
      'sh', '-c', 'test -x "$1" && test -r "$2" && test -x "$3"', 'sh', SANDBOX_BIN, join(REPO_ROOT, 'dist', 'sandbox.cjs'), process.execPath],
    { encoding: 'utf8' });
    if (r.status !== 0) {
      problems.push(`user ${user.name} cannot read the checkout or run node (${REPO_ROOT}, ${process.execPath}): ` +
        'every parent directory needs o+x (.ci/run handles this)');
    }
  }
  return problems;
}

let rootlessProblemsCache: string[] | undefined;

/** Returns the reasons rootless sandboxes cannot work for the test user (empty when they can). */
export function rootlessProblems(): string[] {
  if (rootlessProblemsCache) return rootlessProblemsCache;
  const problems = userProblems();
  let user: TestUser | undefined;
  try {
    user = testUser();
  } catch {
    user = undefined;
  }
  for (const tool of ['newuidmap', 'newgidmap']) {
    const p = whichSync(tool);
    if (!p) problems.push(`${tool} is missing: apt-get install uidmap`);
    else if (!privilegedHelper(p)) problems.push(`${p} is neither setuid root nor has file capabilities: chmod u+s ${p}`);
  }
  if (user) {
    for (const file of ['/etc/subuid', '/etc/subgid'] as const) {
      const ranges = subidRanges(file, user);
      if (!ranges.some((r) => r.count >= 65536)) {
        problems.push(`${file} has no range of 65536 ids for ${user.name}: usermod --add-sub${file.endsWith('uid') ? 'uids' : 'gids'} ` +
          `START-END ${user.name} (a range not overlapping others), or run .ci/run`);
      }
    }
  }
  const maxNs = readProc('/proc/sys/user/max_user_namespaces');
  if (maxNs === '0') problems.push('user namespaces are disabled: sysctl -w user.max_user_namespaces=15000');
  if (readProc('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    problems.push('unprivileged user namespaces are disabled: sysctl -w kernel.unprivileged_userns_clone=1');
  }
  if (readProc('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    problems.push('AppArmor restricts unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
  }
  if (problems.length === 0 && user) {
    // The real thing: can this user make a user namespace and have newuidmap map it?
    // (--map-auto, util-linux >= 2.38, runs newuidmap/newgidmap with the subid ranges.)
    const u = user;
    const probe = (args: string[]) => {
      const [file, argv] = userCommand('unshare', args);
      return spawnSync(file, argv, { encoding: 'utf8', env: cleanEnv(u, undefined, undefined), cwd: '/' });
    };
    let r = probe(['--user', '--map-root-user', '--map-auto', 'true']);
    if (r.status !== 0 && /unrecognized|invalid option/.test(r.stderr)) r = probe(['--user', '--map-root-user', 'true']);
    if (r.status !== 0) problems.push(`user ${user.name} cannot create a mapped user namespace: ${r.stderr.trim() || `exit ${r.status}`}`);
  }
  rootlessProblemsCache = problems;
  return problems;
}

/**
 * The reasons bin/sandbox cannot be run as the user named `name` (empty when it can): no
 * such user, not root so no switching, or the checkout out of its reach.
 */
export function otherUserProblems(name: string | undefined, variable = 'the user'): string[] {
  if (!isRoot() && name !== userInfo().username) return [needsRoot(`commands cannot switch from ${userInfo().username} to ${name ?? variable}`)];
  if (!name) return [`${variable} is not set`];
  let user: TestUser;
  try {
    user = otherUser(name);
  } catch (err) {
    return [(err as Error).message];
  }
  return userProblems(user);
}

/**
 * Returns true when `problems` is empty; else skips the test with the reason printed
 * (false), or under CI throws, because a skip there must not pass for a run feature.
 */
export function requireNoProblems(t: TestLike, what: string, problems: string[]): boolean {
  return skipOrFail(t, what, problems);
}

/**
 * Marks a problem only root gets past (switching to another user, mounting a tmpfs):
 * `.ci/run` runs the suite as root, then again as the unprivileged test user (as the
 * README's `npm test`), where such a test is skipped with its reason, even under CI.
 */
export function needsRoot(why: string): string {
  return `${NEEDS_ROOT}${why} (.ci/run runs this as root)`;
}

const NEEDS_ROOT = 'needs root: ';

/** For tests that only root can run: false (after a skip with the reason) for anyone else. */
export function requireRoot(t: TestLike, what: string, why: string): boolean {
  return skipOrFail(t, what, isRoot() ? [] : [needsRoot(why)]);
}

function skipOrFail(t: TestLike, what: string, problems: string[]): boolean {
  if (problems.length === 0) return true;
  const reason = `${what}: ${problems.join('; ')}`;
  const onlyRootCould = !isRoot() && problems.every((p) => p.startsWith(NEEDS_ROOT));
  if (underCI() && !onlyRootCould) {
    // A green CI must mean the feature really ran.
    throw new Error(`CI is set, so this is a failure, not a skip: ${reason}`);
  }
  process.stderr.write(`# SKIP ${reason}\n`);
  t.skip(reason);
  return false;
}

/**
 * For tests that run bin/sandbox as the test user but need no namespaces (--help, doctor).
 * Returns false (after t.skip) when they cannot run; under CI throws instead.
 */
export function requireTestUser(t: TestLike, what: string): boolean {
  return skipOrFail(t, what, userProblems());
}

/**
 * For tests that need rootless sandboxes: newuidmap/newgidmap, a subuid and subgid range,
 * user namespaces allowed. Returns false (after t.skip with the reason) when something is
 * missing; under CI it throws instead, because a skipped rootless test there is a failure.
 *
 *     if (!requireRootless(t, 'run --rm')) return;
 */
export function requireRootless(t: TestLike, what: string): boolean {
  return skipOrFail(t, what, rootlessProblems());
}

// ---------------------------------------------------------------------------------------
// Small helpers shared by the e2e test files

/** The sandbox directories in the store at `root` (`<root>/data/containers/*`, the on-disk name kept). */
export function sandboxIdsIn(root: string): string[] {
  const dir = join(root, 'data', 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** A result, for assertion messages: exit code, stdout and stderr. */
export function show(r: Pick<RunResult, 'code' | 'stdout' | 'stderr'>): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
}

/**
 * Imports a tarball as the test user into `root` under `name` and returns the image id;
 * throws (with the output) when the import fails, since the test cannot go on.
 */
export async function importImage(root: string, tarball: string, name: string): Promise<string> {
  const r = await runSandbox(['import', tarball, name], { root });
  if (r.code !== 0) throw new Error(`sandbox import ${tarball} ${name} failed\n${show(r)}`);
  return r.stdout.trim();
}

/** Polls `check` (which returns what is still wrong, or '' when all is well) until it is happy or `ms` pass. */
export async function eventually(check: () => string | Promise<string>, ms = 5000, stepMs = 100): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const wrong = await check();
    if (wrong === '' || Date.now() >= deadline) return wrong;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Resolves once `child` has printed `text` on stdout; rejects after `ms` or when it exits first. */
export function waitForOutput(child: ChildProcess, text: string, ms: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms; got: ${seen}`)), ms);
    child.stdout?.on('data', (d: Buffer | string) => {
      seen += String(d);
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolvePromise();
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`exited before printing "${text}"; got: ${seen}`));
    });
  });
}

/** A small seeded pseudo-random generator (mulberry32), so a failing run can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------
// Network helpers (helpers/README.md, "Network helpers: lifetime and identification")

/** A live process, told from a later one with its pid by its start time. */
export interface LiveProcess {
  pid: number;
  /** Field 22 of /proc/PID/stat. */
  startTime: number;
}

/** A network helper of a sandbox, and how it was found. */
export interface NetHelperProcess extends LiveProcess {
  /** Its name in its pid file (slirp4netns, pasta, ...), else its command name. */
  name: string;
  /** Found through its pid file in <runtime>/net-helpers/. */
  pidFile?: string;
  /** Found through SANDBOX_NET_OWNER in its environment. */
  byEnvironment: boolean;
  /** Its parent's pid now. */
  ppid: number;
}

function procStat(pid: number): { state: string; ppid: number; startTime: number } | undefined {
  let stat: string;
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // After the command name in parentheses (which may hold spaces): state, ppid, ... field 22.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '', ppid: Number(f[1]), startTime: Number(f[19]) };
}

/** Whether the process still runs (a zombie does not: it only waits to be reaped). */
export function stillRuns(p: LiveProcess): boolean {
  const s = procStat(p.pid);
  return !!s && s.state !== 'Z' && s.startTime === p.startTime;
}

/** The store's runtime directory for a SANDBOX_ROOT. */
export function runtimeDirOf(root: string): string {
  return join(root, 'run');
}

/** The files of `owner`'s network helpers in the store at `root` (`<owner>.<name>.<what>`). */
export function netHelperFilesOf(root: string, owner: string): string[] {
  const dir = join(runtimeDirOf(root), 'net-helpers');
  try {
    return readdirSync(dir).filter((f) => f.startsWith(`${owner}.`)).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * The live network helpers of `owner` (a sandbox's full id) in the store at `root`, found
 * two independent ways: their pid files, and SANDBOX_NET_OWNER (with the store's
 * SANDBOX_NET_HELPERS) in their environment
 * (readable for root, and for the user where the helper is dumpable). One helper found
 * either way is listed once, with both ways noted, so a test can check each half of the
 * contract. A helper's own children are not listed.
 */
export function networkHelpersOf(root: string, owner: string): NetHelperProcess[] {
  const found = new Map<number, NetHelperProcess>();
  const add = (pid: number, startTime: number | undefined, name: string | undefined, how: { pidFile?: string; byEnvironment?: boolean }) => {
    const s = procStat(pid);
    if (!s || s.state === 'Z' || (startTime !== undefined && s.startTime !== startTime)) return;
    const known = found.get(pid);
    if (known) {
      if (how.pidFile) { known.pidFile = how.pidFile; known.name = name ?? known.name; }
      if (how.byEnvironment) known.byEnvironment = true;
      return;
    }
    let comm = '';
    try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* gone */ }
    found.set(pid, { pid, startTime: s.startTime, ppid: s.ppid, name: name ?? comm, byEnvironment: !!how.byEnvironment, ...(how.pidFile ? { pidFile: how.pidFile } : {}) });
  };
  for (const file of netHelperFilesOf(root, owner)) {
    if (!file.endsWith('.pid')) continue;
    const m = /^(\d+) (\d+)\n?$/.exec(readProc(file) ?? '');
    const name = file.slice(file.lastIndexOf('/') + 1).split('.')[1];
    if (m) add(Number(m[1]), Number(m[2]), name, { pidFile: file });
  }
  const marker = `SANDBOX_NET_OWNER=${owner}`;
  const store = `SANDBOX_NET_HELPERS=${join(runtimeDirOf(root), 'net-helpers')}`;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let env: string[];
    try { env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0'); } catch { continue; /* gone, or not ours to read */ }
    if (env.includes(marker) && env.includes(store)) add(Number(e), undefined, undefined, { byEnvironment: true });
  }
  // A helper's own children (slirp4netns forks one to configure the namespace) inherit
  // the marker: they are their helper's.
  return [...found.values()].filter((h) => !found.has(h.ppid));
}
