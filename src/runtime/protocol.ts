/**
 * The protocol between the TypeScript side and the C helpers, in one place: the twin of
 * helpers/protocol.h, described in helpers/README.md (test/unit/protocol.test.ts holds
 * the three together). Pure constants and one parser: nothing here is loaded lazily.
 */

/**
 * The plan vocabulary: the options of sandbox-launch (and, where both take one, of
 * sandbox-cp, with the same meaning and the same arguments in the same order).
 * helpers/README.md says what each means and which arguments follow it.
 */
export const Flag = {
  // Both helpers: the id maps.
  uidmapCmd: '--uidmap-cmd',
  gidmapCmd: '--gidmap-cmd',
  uidMap: '--uid-map',
  gidMap: '--gid-map',
  // Both helpers: a running sandbox to enter (sandbox-launch: exec).
  target: '--target',
  // Both helpers: the root filesystem.
  rootOverlay: '--root-overlay',
  rootBase: '--root-base',
  hostDir: '--host-dir',
  symlink: '--symlink',
  // sandbox-launch only.
  usernsOnly: '--userns-only',
  innerUidMap: '--inner-uid-map',
  innerGidMap: '--inner-gid-map',
  statusFd: '--status-fd',
  dieWithParent: '--die-with-parent',
  ownerLifeline: '--owner-lifeline',
  network: '--network',
  networkCmd: '--network-cmd',
  networkJoin: '--network-join',
  joinNs: '--join-ns',
  netLog: '--net-log',
  networkArg: '--network-arg',
  netJoin: '--net-join',
  netSwitchCmd: '--net-switch-cmd',
  netHelpers: '--net-helpers',
  cgroup: '--cgroup',
  oomFile: '--oom-file',
  publish: '--publish',
  tty: '--tty',
  stdin: '--stdin',
  cleanup: '--cleanup',
  releaseName: '--release-name',
  hostname: '--hostname',
  rootFuse: '--root-fuse',
  bind: '--bind',
  roBind: '--ro-bind',
  bindNonrec: '--bind-nonrec',
  propagation: '--propagation',
  tmpfs: '--tmpfs',
  proc: '--proc',
  dev: '--dev',
  sys: '--sys',
  sysRw: '--sys-rw',
  remountRo: '--remount-ro',
  mask: '--mask',
  roSelf: '--ro-self',
  chdir: '--chdir',
  createCwd: '--create-cwd',
  user: '--user',
  groupAdd: '--group-add',
  keepGroups: '--keep-groups',
  env: '--env',
  caps: '--caps',
  noNewPrivs: '--no-new-privs',
  rlimit: '--rlimit',
  oomScoreAdj: '--oom-score-adj',
  seccomp: '--seccomp',
  log: '--log',
  logTee: '--log-tee',
  logMaxSize: '--log-max-size',
  logDropOld: '--log-drop-old',
  exitFile: '--exit-file',
  pidFile: '--pid-file',
  monitorFile: '--monitor-file',
  events: '--events',
  restart: '--restart',
  stopSignal: '--stop-signal',
  timeout: '--timeout',
  preserveFds: '--preserve-fds',
  healthCheck: '--health-check',
  attachSocket: '--attach-socket',
  keepStdin: '--keep-stdin',
  attachTo: '--attach-to',
  noStdin: '--no-stdin',
  detachKeys: '--detach-keys',
  sigProxy: '--sig-proxy',
  detachOnSignal: '--detach-on-signal',
  // sandbox-cp only.
  mountpoint: '--mountpoint',
} as const;

/** Words as LENGTH:WORD... (each word's length in UTF-8 bytes): `--args-env`'s plan, `--health-check`'s runner. */
export function encodeWords(words: readonly string[]): string {
  let out = '';
  for (const w of words) out += `${Buffer.byteLength(w)}:${w}`;
  return out;
}

/** How the plan reaches sandbox-launch: NUL-terminated words on a descriptor, or an environment variable. */
export const ARGS_FD = '--args-fd';
export const ARGS_ENV = '--args-env';
export const PLAN_ENV = 'SANDBOX_LAUNCH_ARGS';

/**
 * The monitor's control signals (sent by `sandbox stop` / `kill`): no more restarts,
 * then the stop signal (or SIGKILL) to the sandbox's current init. Never forwarded.
 */
export const SIG_STOP_REQUEST = 40;
export const SIG_KILL_REQUEST = 41;
/** SIG_KILL_REQUEST to an exec helper (`--target`): it kills the command and its session, and exits. */
export const SIG_END_EXEC = SIG_KILL_REQUEST;

/**
 * One line of sandbox-launch's status descriptor (--status-fd): the init's pid first
 * (again at each restart), `started` once the command runs (never when setup failed),
 * the exit status last.
 */
export interface StatusLine {
  pid?: number;
  started?: boolean;
  exit_code?: number;
  /** A foreground run went on in the background (its detach keys, or --detach-on-signal): nothing more comes. */
  detached?: boolean;
}

/** A status line, or undefined for a line that is not one (not JSON, not an object). */
export function parseStatusLine(line: string): StatusLine | undefined {
  let value: unknown;
  try { value = JSON.parse(line); } catch { return undefined; }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const status: StatusLine = {};
  if (typeof v.pid === 'number') status.pid = v.pid;
  if (v.started === true) status.started = true;
  if (typeof v.exit_code === 'number') status.exit_code = v.exit_code;
  if (v.detached === true) status.detached = true;
  return status;
}

/** `run --preserve-fds N`: the caller's fds 3.. are passed to the helper from this fd on (above the status, plan and lifeline fds). */
export const PRESERVE_FDS_BASE = 10;
