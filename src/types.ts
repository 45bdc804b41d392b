/** Plain data shared by every layer (state, runtime, images, api, cli): requests and their parts. No behaviour, no imports. The API re-exports it. */

/** The built-in image: the host's own directories, read-only under a private writable layer. */
export const HOST_IMAGE = 'host';

export type NetworkMode = 'none' | 'host' | 'slirp4netns' | 'pasta' | 'bridge' | 'container';

/** One published port (`-p`): the host port is resolved (a free one chosen) when the sandbox is created, so restarts keep it. */
export interface PortMapping {
  /** '' = every address of the host. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface BindSpec {
  kind: 'bind';
  /** Absolute host path (resolved against the caller's cwd when given relative). */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  readOnly: boolean;
  /** `--mount type=bind,bind-propagation=...`: the bind's propagation (default rprivate). */
  propagation?: Propagation;
  /** `--mount type=bind,bind-nonrecursive`: the mounts below the source are not bound too. */
  nonRecursive?: boolean;
  /** `:U`, `--mount ...,U`: chowned (recursively) to the sandbox's user at each start, as Podman's. */
  chown?: boolean;
}

/** mount(2)'s propagation types, by Podman's names. */
export type Propagation = 'shared' | 'slave' | 'private' | 'unbindable' | 'rshared' | 'rslave' | 'rprivate' | 'runbindable';

export interface NamedVolumeSpec {
  kind: 'volume';
  /** Volume name; empty for an anonymous volume (`-v /path`). */
  name: string;
  target: string;
  readOnly: boolean;
  /** `:U`: see BindSpec.chown. */
  chown?: boolean;
}

export type VolumeSpec = BindSpec | NamedVolumeSpec;

export interface TmpfsSpec {
  target: string;
  /** Mount options as given after the colon (`size=64m,mode=1777`), validated. */
  options: string[];
  /** `--mount type=tmpfs,...,U`: owned by the sandbox's user. */
  chown?: boolean;
}

/**
 * A health check: `--health-*` (given ones only), or, once the sandbox is created, the
 * whole of it (the image's HEALTHCHECK under the flags, with Podman's defaults).
 */
export interface HealthcheckSpec {
  /** Docker's form: `['CMD-SHELL', command]`, `['CMD', arg, ...]`, or `['NONE']` (none at all). */
  test?: string[];
  /** Between two checks; 0: no periodic checks (`--health-interval disable`), only `healthcheck run`. */
  intervalMs?: number;
  timeoutMs?: number;
  /** Failures this soon after a start do not count. */
  startPeriodMs?: number;
  /** Consecutive failures that make the sandbox unhealthy. */
  retries?: number;
}

/** `--log-driver`: k8s-file (the CRI log `logs` reads; json-file is the same, as in Podman) or none. */
export type LogDriver = 'k8s-file' | 'json-file' | 'none';

/** Everything `sandbox run` / `create` needs, already validated and normalised. */
export interface RunRequest {
  /** Image reference, `host` for the built-in image; ignored with `rootfs`. */
  image: string;
  /** `--rootfs DIR`: absolute directory used as the root (copy-on-write). */
  rootfs?: string;
  /** Arguments after the image; empty means the image's default. */
  command: string[];
  /** `--entrypoint`; an empty array clears the image's entrypoint. */
  entrypoint?: string[];
  name?: string;
  remove: boolean;
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  /** Variables set explicitly, in order (`-e K=V`, `-e K` from the caller, `--env-file`). */
  env: Record<string, string>;
  workdir?: string;
  /** `UID[:GID]` or a user name to look up in the sandbox's /etc/passwd. */
  user?: string;
  hostname?: string;
  volumes: VolumeSpec[];
  tmpfs: TmpfsSpec[];
  readOnly: boolean;
  network: NetworkMode;
  /** The OPTS of `--network slirp4netns:OPTS` / `pasta:OPTS`, split at commas (src/network/). */
  networkOptions?: string[];
  /** `--network NAME --network-alias A`: the user-defined networks it is on (mode `bridge`), with its aliases on each. */
  networks?: { name: string; aliases: string[] }[];
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  labels: Record<string, string>;
  /** `--restart`: `no` (default), `on-failure[:N]` or `always`, honoured by the monitor. */
  restart?: string;
  /** `--stop-signal`: the signal number `sandbox stop` sends first (default SIGTERM). */
  stopSignal?: number;
  /** `--log-opt max-size=...`: the log of a detached sandbox rotates past this many bytes. */
  logMaxSize?: number;
  /** `--log-driver` (default k8s-file). */
  logDriver?: LogDriver;
  /** `--log-opt max-file=1`: no old part is kept past max-size (default 2: one old part, FILE.1). */
  logMaxFiles?: number;
  /** `--log-opt path=FILE`: the log there instead of in the sandbox's directory (absolute). */
  logPath?: string;
  /** `--stop-timeout`: seconds `stop`, `restart` and `rm -f` wait after the stop signal before SIGKILL (default 10). */
  stopTimeout?: number;
  /** `--health-cmd` and the other `--health-*` options; `--no-healthcheck` is `{ test: ['NONE'] }`. */
  healthcheck?: HealthcheckSpec;
  /** `--pull`: when to pull the image from its registry (default `missing`); `newer`: as always, but a failed pull falls back to the local image. */
  pull?: 'missing' | 'always' | 'never' | 'newer';
  /** `--platform` for that pull. */
  platform?: string;
  /** `--tls-verify` for that pull. */
  tlsVerify?: boolean;
  /** `-q`: no pull progress. */
  quiet?: boolean;
  /** `--init`: asked for explicitly (an init always runs: shown as HostConfig.Init). */
  init?: boolean;
  /** `--annotation K=V`: OCI annotations, shown as Config.Annotations. */
  annotations?: Record<string, string>;
  /** `--group-add`: supplementary groups of the command (GIDs or the image's group names), or ['keep-groups']. */
  groupAdd?: string[];
  /** `--userns` as given (`keep-id:uid=..`, `auto:size=..`, `host`, `nomap`; absent: the default). */
  userns?: string;
  /** `--uidmap`/`--gidmap CONTAINER:HOST:SIZE` as given (HOST: an id of the default namespace). */
  uidMap?: string[];
  gidMap?: string[];
  /** `--security-opt` values as given (HostConfig.SecurityOpt); what each does is in its own field. */
  securityOpt?: string[];
  /** `--security-opt seccomp=`: 'unconfined', or a profile file's absolute path; absent: the default profile (src/runtime/seccomp/). */
  seccomp?: string;
  /** `--security-opt mask=P1:P2`: more paths hidden; `unmask=ALL|P1:P2`: default masks lifted. */
  maskPaths?: string[];
  unmaskPaths?: string[];
  /** `--replace`: an existing sandbox of that name is removed first. */
  replace?: boolean;
  /** `--cidfile FILE`: the new sandbox's id is written there (absolute path; the file must not exist). */
  cidFile?: string;
  /** `--pidfile FILE`: the command's pid is written there at every start (absolute path). */
  pidFile?: string;
  /** `--preserve-fds N`: a foreground run's command gets the caller's fds 3..3+N-1. */
  preserveFds?: number;
  /** `--hostuser NAME|UID`: host users added to the sandbox's /etc/passwd at every start (runtime/host-users.ts). */
  hostUsers?: string[];
  /** `--attach`/`-a`: the streams a foreground run is joined to (absent: all; stdin with -i). */
  attach?: ('stdin' | 'stdout' | 'stderr')[];
  /** `--timeout N`: the sandbox is killed N seconds after each start and ends with 255 (Podman's). */
  timeout?: number;
  /** `--conmon-pidfile FILE`: the monitor's pid is written there at every start (absolute path). */
  conmonPidFile?: string;
  /** `--detach-keys`: the bytes that detach a foreground `run -it` (default ctrl-p ctrl-q; empty: none). */
  detachKeys?: number[];
  /** `--sig-proxy=false`: signals to a foreground `run` detach it instead of reaching it. */
  sigProxy?: boolean;
  /** `--add-host NAME[;NAME...]:IP` as given (IP may be `host-gateway`), first in /etc/hosts. */
  addHosts?: string[];
  /** `--dns`: the name servers of /etc/resolv.conf, or ['none']: the image's resolv.conf is kept. */
  dns?: string[];
  /** `--dns-search`: its search domains (['.']: none). */
  dnsSearch?: string[];
  /** `--dns-option`: its options. */
  dnsOptions?: string[];
  /** `--no-hosts`: no /etc/hosts of ours (the image's is kept). */
  noHosts?: boolean;
  /** `-p/--publish`: published ports (network/port-spec.ts); host port 0 until the sandbox is created. */
  ports?: PortMapping[];
  /** `-P/--publish-all`: the image's EXPOSEd ports and --expose's, each on a free host port (added to `ports` at create). */
  publishAll?: boolean;
  /** `--expose PORT[/PROTO]`: ports the sandbox exposes, as `80/tcp` (Config.ExposedPorts; published by -P). */
  expose?: string[];
  /** `--network container:ID` (and pod members, with the pod's infra): the id of the sandbox whose network namespace is joined. */
  networkContainer?: string;
  /** `--pod`: the id of the pod the sandbox belongs to (its network is the pod's infra's). */
  pod?: string;
  /** `--ulimit NAME=SOFT[:HARD]`: setrlimit of the command and of exec'd ones (runtime/rlimits.ts); -1: as high as the caller may go. */
  ulimits?: { name: string; soft: number; hard: number }[];
  /** `--memory`, `--cpus`, `--pids-limit`, ...: resource limits (src/runtime/cgroup/). */
  limits?: ResourceLimits;
  /** `--unenforced-limits`: run anyway, with a warning, when a limit cannot be enforced for this user. */
  unenforcedLimits?: boolean;
  /** `--cgroup-parent`: where the sandbox's cgroup goes, relative to the subtree delegated to the user (checked at create). */
  cgroupParent?: string;
  /** `--subuidname`/`--subgidname`: the sandbox's ids are these names' /etc/subuid and /etc/subgid ranges (the caller's own only). */
  subuidName?: string;
  subgidName?: string;
  /** `--oom-score-adj`: the command's (and exec'd ones') /proc/self/oom_score_adj, -1000..1000. */
  oomScoreAdj?: number;
  /** `--seccomp-policy image`: the seccomp profile comes from the image's io.containers.seccomp.profile label. */
  seccompPolicy?: 'image';
  /** `--privileged`: every capability (inside the user namespace), the user's host devices, no masked or read-only paths, no seccomp filter. */
  privileged?: boolean;
  /** `--device`: host device nodes bound in (a directory given is expanded to its devices at create). */
  devices?: DeviceSpec[];
}

/** One `--device HOST[:CTR][:PERMS]`: a host device node and where it appears inside. */
export interface DeviceSpec {
  host: string;
  container: string;
  /** Podman's cgroup permissions, `rwm` or a part of it. */
  permissions: string;
}

/** Resource limits as the run options give them (Podman's), in plain units. */
export interface ResourceLimits {
  /** bytes */
  memory?: number;
  /** bytes of memory plus swap; -1 unlimited */
  memorySwap?: number;
  /** bytes: a soft limit, reclaimed down to under pressure */
  memoryReservation?: number;
  /** cores: 0.5 = half a core */
  cpus?: number;
  /** relative weight, 2..262144 (1024 = the default share) */
  cpuShares?: number;
  /** `--cpu-period` (µs) and `--cpu-quota` (µs per period; -1 unlimited): `--cpus` spelled out */
  cpuPeriod?: number;
  cpuQuota?: number;
  /** CPUs the sandbox may run on: `0-1,3` */
  cpusetCpus?: string;
  /** 0 or -1: unlimited */
  pidsLimit?: number;
  /** `--memory-swappiness` 0..100 (cgroup v1's memory.swappiness; cgroup v2 has none) */
  memorySwappiness?: number;
  /** memory (NUMA) nodes the sandbox may allocate on: `0-1` */
  cpusetMems?: string;
  /** `--blkio-weight` 10..1000: relative block I/O weight */
  blkioWeight?: number;
  /** `--blkio-weight-device DEV:WEIGHT`, `--device-{read,write}-{bps,iops} DEV:N` (bytes or I/Os per second) */
  blkioWeightDevice?: DeviceLimit[];
  deviceReadBps?: DeviceLimit[];
  deviceWriteBps?: DeviceLimit[];
  deviceReadIops?: DeviceLimit[];
  deviceWriteIops?: DeviceLimit[];
  /** `--oom-kill-disable`: the OOM killer leaves the sandbox alone at its memory limit (cgroup v1's memory.oom_control) */
  oomKillDisable?: boolean;
}

/** One per-device block I/O limit: the device as given, its numbers, and the weight or rate. */
export interface DeviceLimit {
  path: string;
  major: number;
  minor: number;
  value: number;
}
