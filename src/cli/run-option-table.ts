/**
 * The options of `sandbox run` (and `create`): their table, which drives the lexer
 * (argv-lexer.ts) and yargs' help alike, and the split of the words after `run` at the
 * image. Validation into a RunRequest is in run-request.ts. Wiring:
 *
 *   let cmdYargs: Argv;
 *   builder: (y) => (cmdYargs = runOptionsBuilder(y).usage(runUsage('run'))),
 *   handler: (argv) => {
 *     const args = parseRunArgv(rawArgsAfterCommand(argv, 'run'), 'run');
 *     if (args.help) return void cmdYargs.showHelp('log');
 *     const request = toRunRequest(args, { env: process.env, cwd: process.cwd(),
 *       readFile: (p) => readFileSync(p, 'utf8'), stdinIsTTY: process.stdin.isTTY, warn });
 *   }
 */
import type { Argv } from 'yargs';
import type { HealthArgs } from './health-options.js';
import type { NameArgs } from './name-options.js';
import { LIMIT_OPTIONS, type LimitArgs } from './limit-options.js';
import { collectOptions, declareOptions, lexArgv, optionTable, type LexerMessages, type OptionDef } from './argv-lexer.js';
import { DEFAULT_NETWORK, NETWORK_MODES, NETWORK_MODE_WORDS, WORKING_NETWORK_MODES } from '../network/driver.js';
import { MISSING_RUN_OPTIONS, missingOptions } from './podman-gaps.js';

/** The default network and the modes `--network` takes are the network registry's (src/network/driver.ts). */
export { DEFAULT_NETWORK, NETWORK_MODES, WORKING_NETWORK_MODES };

export type RunVerb = 'run' | 'create';

/** What `parseRunArgv` returns and `toRunRequest` takes (yargs' camelCase keys). */
export interface RunArgs extends HealthArgs, NameArgs, LimitArgs {
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  detach?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  volume?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  entrypoint?: string;
  rootfs?: string;
  network?: string | string[];
  networkAlias?: string[];
  pod?: string;
  podIdFile?: string;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  restart?: string;
  stopSignal?: string;
  logOpt?: string[];
  logDriver?: string;
  stopTimeout?: string;
  pull?: string;
  platform?: string;
  tlsVerify?: boolean;
  quiet?: boolean;
  label?: string[];
  mount?: string[];
  init?: boolean;
  initPath?: string;
  envHost?: boolean;
  replace?: boolean;
  cidfile?: string;
  pidfile?: string;
  tz?: string;
  hostuser?: string[];
  preserveFds?: string;
  attach?: string[];
  timeout?: string;
  conmonPidfile?: string;
  annotation?: string[];
  groupAdd?: string[];
  userns?: string;
  cgroupParent?: string;
  oomScoreAdj?: string;
  seccompPolicy?: string;
  gpus?: string;
  subuidname?: string;
  subgidname?: string;
  uidmap?: string[];
  gidmap?: string[];
  detachKeys?: string;
  sigProxy?: boolean;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  ulimit?: string[];
  unenforcedLimits?: boolean;
  device?: string[];
  deviceCgroupRule?: string[];
  privileged?: boolean;
  /** First word after the options (the command's first word with `--rootfs`). */
  image?: string;
  /** Everything after the image, verbatim. */
  command?: string[];
  /** `--help` before the image: show the command's help instead of running (`-h` is --hostname). */
  help?: boolean;
  /** The global `--root` when given after the command word. */
  root?: string;
}

/** The option table: the only place that says which options exist and which take a value. */
export const RUN_OPTIONS: readonly OptionDef[] = [
  { name: 'rm', aliases: [], type: 'boolean', describe: 'Remove the sandbox when it exits' },
  { name: 'interactive', aliases: ['i'], type: 'boolean', describe: 'Keep stdin open and connect it to the command' },
  { name: 'tty', aliases: ['t'], type: 'boolean', describe: 'Give the command a terminal' },
  { name: 'detach', aliases: ['d'], type: 'boolean', describe: 'Run in the background and print the id' },
  { name: 'name', aliases: [], type: 'string', describe: 'Name the sandbox' },
  { name: 'env', aliases: ['e'], type: 'string', array: true, describe: 'Set a variable: K=V, or K to copy yours (repeatable)' },
  { name: 'env-file', aliases: [], type: 'string', array: true, describe: 'Read K=V lines from a file (repeatable)' },
  { name: 'workdir', aliases: ['w'], type: 'string', describe: 'Working directory inside (absolute)' },
  { name: 'user', aliases: ['u'], type: 'string', describe: 'UID[:GID] or NAME[:GROUP] to run the command as' },
  { name: 'hostname', aliases: ['h'], type: 'string', describe: 'Host name inside (default: the short id)' },
  { name: 'volume', aliases: ['v'], type: 'string', array: true, describe: 'Bind or volume: SRC:DST[:ro|rw] or /DST (repeatable)' },
  { name: 'tmpfs', aliases: [], type: 'string', array: true, describe: 'Mount a tmpfs: PATH[:OPTIONS] (repeatable)' },
  { name: 'read-only', aliases: [], type: 'boolean', describe: 'Make the root filesystem read-only' },
  { name: 'entrypoint', aliases: [], type: 'string', describe: "Override the image's entrypoint ('' clears it, JSON array accepted)" },
  { name: 'rootfs', aliases: [], type: 'string', describe: 'Use this directory as the root; the first argument is then the command' },
  { name: 'network', aliases: ['net'], type: 'string', array: true, describe: `Network: ${NETWORK_MODE_WORDS.join(', ')} (default ${DEFAULT_NETWORK}), or the name of a network (sandbox network create; repeatable)` },
  { name: 'network-alias', aliases: [], type: 'string', array: true, describe: 'A name of the sandbox on its user-defined networks (repeatable)' },
  { name: 'pod', aliases: [], type: 'string', describe: 'Join this pod (its network and hostname); new:NAME creates it first' },
  { name: 'pod-id-file', aliases: [], type: 'string', describe: 'Join the pod whose id is in this file (pod create --pod-id-file)' },
  { name: 'cap-add', aliases: [], type: 'string', array: true, describe: 'Add a capability, or ALL (repeatable)' },
  { name: 'cap-drop', aliases: [], type: 'string', array: true, describe: 'Drop a capability, or ALL (repeatable)' },
  { name: 'security-opt', aliases: [], type: 'string', array: true, describe: 'no-new-privileges, label=..., mask=P:P, unmask=ALL|P:P, seccomp=unconfined|PROFILE.json' },
  { name: 'label', aliases: ['l'], type: 'string', array: true, describe: 'Set metadata: KEY=VALUE (repeatable)' },
  { name: 'restart', aliases: [], type: 'string', describe: 'Restart policy: no, on-failure[:N], always' },
  { name: 'stop-signal', aliases: [], type: 'string', describe: 'Signal `sandbox stop` sends first (default SIGTERM)' },
  { name: 'pull', aliases: [], type: 'string', describe: 'Pull the image: missing (default), always, never, newer' },
  { name: 'platform', aliases: [], type: 'string', describe: 'OS/ARCH[/VARIANT] to pull (default: this machine\'s)' },
  { name: 'tls-verify', aliases: [], type: 'boolean', describe: 'Pull over HTTPS with a valid certificate only (false: accept any, and plain HTTP)' },
  { name: 'quiet', aliases: ['q'], type: 'boolean', describe: 'No pull progress' },
  { name: 'log-opt', aliases: [], type: 'string', array: true, describe: 'Log option: max-size=SIZE (e.g. 10m) bounds the log, max-file=1|2, path=FILE' },
  { name: 'mount', aliases: [], type: 'string', array: true, describe: 'type=bind|volume|tmpfs,src=SRC,dst=DST[,ro][,...] (repeatable)' },
  { name: 'init', aliases: [], type: 'boolean', describe: 'Run an init as PID 1 (always so here)' },
  { name: 'init-path', aliases: [], type: 'string', describe: 'Ignored (a warning says so): our init is always PID 1' },
  { name: 'env-host', aliases: [], type: 'boolean', describe: 'Copy your whole environment in (-e and --env-file still win)' },
  { name: 'replace', aliases: [], type: 'boolean', describe: 'Remove an existing sandbox of the same --name first' },
  { name: 'cidfile', aliases: [], type: 'string', describe: "Write the sandbox's id to this file (which must not exist)" },
  { name: 'pidfile', aliases: [], type: 'string', describe: "Write the pid of the sandbox's command to this file at every start" },
  { name: 'conmon-pidfile', aliases: [], type: 'string', describe: "Write the pid of the sandbox's monitor to this file at every start" },
  { name: 'attach', aliases: ['a'], type: 'string', array: true, describe: 'Show only these streams of a foreground run: stdin (with -i), stdout, stderr (repeatable; none of stdout and stderr: as -d)' },
  { name: 'preserve-fds', aliases: [], type: 'string', describe: 'Pass your fds 3..3+N-1 on to the command (a foreground run)' },
  { name: 'hostuser', aliases: [], type: 'string', array: true, describe: "Add this host user (name or uid) to the sandbox's /etc/passwd, as Podman (repeatable)" },
  { name: 'tz', aliases: [], type: 'string', describe: "The sandbox's time zone (/etc/localtime): a zone such as Europe/Berlin, or local (this host's)" },
  { name: 'timeout', aliases: [], type: 'string', describe: 'Kill the sandbox this many seconds after it starts (it then ends with 255, as in Podman)' },
  { name: 'annotation', aliases: [], type: 'string', array: true, describe: 'Add an annotation: KEY=VALUE (repeatable)' },
  { name: 'group-add', aliases: [], type: 'string', array: true, describe: 'Supplementary group: GID, a group of the image, or keep-groups' },
  { name: 'userns', aliases: [], type: 'string', describe: 'User namespace: "" or host (you are root inside), keep-id[:uid=U,gid=G], auto[:size=N], nomap' },
  { name: 'uidmap', aliases: [], type: 'string', array: true, describe: 'CONTAINER:HOST:SIZE uid map (HOST: an id of the default namespace: 0 you, 1.. your subuids)' },
  { name: 'gidmap', aliases: [], type: 'string', array: true, describe: 'CONTAINER:HOST:SIZE gid map (default: the --uidmap)' },
  { name: 'log-driver', aliases: [], type: 'string', describe: 'Where the output goes: k8s-file (default; json-file is the same) or none' },
  { name: 'stop-timeout', aliases: [], type: 'string', describe: 'Seconds stop, restart and rm -f wait for the stop signal before SIGKILL (default 10)' },
  { name: 'health-cmd', aliases: [], type: 'string', describe: "Health check: a shell command, a JSON array (exec form), or none (no image check)" },
  { name: 'health-interval', aliases: [], type: 'string', describe: 'Time between health checks (default 30s; disable: only `healthcheck run`)' },
  { name: 'health-retries', aliases: [], type: 'string', describe: 'Failures in a row that make the sandbox unhealthy (default 3)' },
  { name: 'health-timeout', aliases: [], type: 'string', describe: 'Time a health check may take before it is killed and failed (default 30s)' },
  { name: 'health-start-period', aliases: [], type: 'string', describe: 'Time after a start during which failed checks do not count (default 0s)' },
  { name: 'no-healthcheck', aliases: [], type: 'boolean', describe: "No health check, not even the image's" },
  { name: 'detach-keys', aliases: [], type: 'string', describe: 'With -it: keys that detach, leaving the sandbox running (default ctrl-p,ctrl-q; "" for none)' },
  { name: 'sig-proxy', aliases: [], type: 'boolean', describe: 'Pass signals sent to `sandbox run` on to the sandbox (default true; false: they detach it)' },
  { name: 'add-host', aliases: [], type: 'string', array: true, describe: 'Add a line to /etc/hosts: NAME[;NAME...]:IP, IP may be host-gateway (repeatable)' },
  { name: 'no-hosts', aliases: [], type: 'boolean', describe: "No /etc/hosts of ours: the image's stays as it is" },
  { name: 'dns', aliases: [], type: 'string', array: true, describe: "Name server for /etc/resolv.conf (repeatable; none: the image's file stays)" },
  { name: 'dns-search', aliases: [], type: 'string', array: true, describe: 'Search domain for /etc/resolv.conf (repeatable; . for none)' },
  { name: 'dns-option', aliases: ['dns-opt'], type: 'string', array: true, describe: 'Option for /etc/resolv.conf, e.g. ndots:2 (repeatable)' },
  { name: 'publish', aliases: ['p'], type: 'string', array: true, describe: 'Publish a port: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp], ranges too (repeatable; no HOSTPORT: a free one)' },
  { name: 'publish-all', aliases: ['P'], type: 'boolean', describe: "Publish every exposed port (the image's EXPOSE, --expose) on a free host port" },
  { name: 'expose', aliases: [], type: 'string', array: true, describe: 'Expose a port or range: PORT[-PORT][/tcp|/udp] (published by -P; repeatable)' },
  { name: 'ulimit', aliases: [], type: 'string', array: true, describe: 'Resource limit of the command and exec\'d ones: NAME=SOFT[:HARD], e.g. nofile=1024:2048 (-1: your hard limit; repeatable)' },
  ...LIMIT_OPTIONS.map((o): OptionDef => ({ name: o.name, aliases: o.alias ? [o.alias] : [], type: o.flag ? 'boolean' : 'string', ...(o.list ? { array: true } : {}), describe: o.describe })),
  { name: 'unenforced-limits', aliases: [], type: 'boolean', describe: 'Run even when a limit cannot be enforced for you (a warning says which)' },
  { name: 'device', aliases: [], type: 'string', array: true, describe: 'Pass a host device in: HOST[:INSIDE][:PERMS] (PERMS of rwm; a directory passes its devices; repeatable)' },
  { name: 'device-cgroup-rule', aliases: [], type: 'string', array: true, describe: 'Refused: a rootless sandbox has no device cgroup (use --device)' },
  { name: 'privileged', aliases: [], type: 'boolean', describe: 'Every capability (inside the user namespace), your host devices, no masked paths, no seccomp filter' },
  { name: 'cgroup-parent', aliases: [], type: 'string', describe: 'Parent cgroup of the sandbox\'s, inside the subtree delegated to you (absolute, or relative to it)' },
  { name: 'oom-score-adj', aliases: [], type: 'string', describe: 'The command\'s OOM score adjustment, -1000 to 1000 (lowering it below yours needs privilege)' },
  { name: 'seccomp-policy', aliases: [], type: 'string', describe: 'default, or image: the profile of the image\'s io.containers.seccomp.profile label' },
  { name: 'subuidname', aliases: [], type: 'string', describe: 'The sandbox\'s uids are this name\'s /etc/subuid range (yours only: newuidmap\'s rule)' },
  { name: 'subgidname', aliases: [], type: 'string', describe: 'The sandbox\'s gids are this name\'s /etc/subgid range (yours only)' },
  { name: 'gpus', aliases: [], type: 'string', describe: 'Pass the host\'s GPU device nodes in (/dev/dri, /dev/nvidia*): all' },
  // -h is --hostname here, as in Podman and Docker: only --help is help.
  { name: 'help', aliases: [], type: 'boolean', describe: 'Show help', global: true },
  { name: 'root', aliases: [], type: 'string', describe: 'Keep all state under this directory', global: true },
];


const RUN_TABLE = optionTable(RUN_OPTIONS);

export function runUsage(verb: RunVerb = 'run'): string {
  return `sandbox ${verb} [OPTIONS] IMAGE [COMMAND...]`;
}

/**
 * Declares the run/create options on a command's yargs (for `--help` and types) and
 * makes yargs halt at the command word, so that the raw words reach `parseRunArgv`
 * untouched (see argv-lexer.ts).
 */
export function runOptionsBuilder<T>(y: Argv<T>): Argv<T> {
  return declareOptions(y, RUN_TABLE, { network: DEFAULT_NETWORK });
}

function messages(verb: RunVerb): LexerMessages {
  return {
    verb,
    usageHint: `${runUsage(verb)}; see \`sandbox ${verb} --help\``,
    missing: missingOptions(MISSING_RUN_OPTIONS),
  };
}

export interface SplitRunArgv {
  /** Our options, normalised to `--long` / `--long=value`, one word each. */
  head: string[];
  /** The first word after the options. */
  image?: string;
  /** The rest, verbatim (a `--` right after the image is dropped, except with --rootfs). */
  command: string[];
}

/**
 * Splits the words after `run` at the image (argv-lexer.ts `lexArgv`): options before
 * it, the command after it. One `--` right after the image is dropped (`run bb -- ls -l`),
 * except with --rootfs, where the first word is the command's own.
 */
export function splitRunArgv(argv: string[], verb: RunVerb = 'run'): SplitRunArgv {
  const { head, positional, rest } = lexArgv(argv, RUN_TABLE, messages(verb));
  if (positional === undefined) return { head, command: [] };
  const rootfs = head.some((w) => w.startsWith('--rootfs='));
  if (!rootfs && rest[0] === '--') rest.shift();
  return { head, image: positional, command: rest };
}

/**
 * The words after `run` as plain data: `splitRunArgv`, then the normalised options into
 * a RunArgs (array options collect, other options: the last one wins, as in Docker).
 */
export function parseRunArgv(argv: string[], verb: RunVerb = 'run'): RunArgs {
  const { head, image, command } = splitRunArgv(argv, verb);
  const out = collectOptions(head, RUN_TABLE);
  if (image !== undefined) out.image = image;
  out.command = command;
  return out as RunArgs;
}
