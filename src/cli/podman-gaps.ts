/**
 * What Podman has and we do not (yet): its options of run/create/exec and its commands,
 * each with what to use meanwhile. A Podman habit then meets "`-p` is not supported yet"
 * and a way forward (exit 125), never "unknown option" or a far-fetched "did you mean".
 *
 * One row per missing thing: when it lands, delete its row (test/unit/podman-gaps.test.ts
 * fails while a row names an option or command that exists). `by` names the part of the
 * work (issue 14) that is adding it, where one is.
 * Pure data and lookups: exec's own bundle loads this, so keep it free of imports.
 */

export interface MissingOption {
  /** Podman's spellings: `-p`, `--publish`. */
  names: readonly string[];
  /** What to do meanwhile: one line, the hint. */
  meanwhile: string;
  by?: string;
}

const NO_CGROUP_LIMITS = 'not yet: --memory, --cpus, --cpu-shares, --cpuset-cpus and --pids-limit are what limits a sandbox (see `sandbox doctor`, cgroups)';
const NO_NETWORKS = 'no fixed addresses yet: a sandbox on a user-defined network gets the next free address of its subnet (sandbox network inspect NET shows it)';
const NAMESPACES = 'each sandbox always has its own user, mount, pid, uts, ipc and network namespaces; --network host shares the host\'s network only';
const USERNS = 'newuidmap maps only your own /etc/subuid ranges: --uidmap CONTAINER:HOST:SIZE picks ids from them (HOST: 1.. is your range), --userns=auto a slice';
const HEALTH = 'run the check yourself: sandbox exec NAME CHECK-COMMAND (its exit status)';

/** Podman's options of `run` and `create` that we lack. */
export const MISSING_RUN_OPTIONS: readonly MissingOption[] = [
  // networking
  { names: ['--ip'], meanwhile: NO_NETWORKS },
  { names: ['--ip6'], meanwhile: NO_NETWORKS },
  { names: ['--mac-address'], meanwhile: NO_NETWORKS },
  { names: ['--http-proxy'], meanwhile: 'copy your proxy variables: -e http_proxy -e https_proxy -e no_proxy' },
  // resources
  { names: ['--cpu-rt-period'], meanwhile: NO_CGROUP_LIMITS },
  { names: ['--cpu-rt-runtime'], meanwhile: NO_CGROUP_LIMITS },
  { names: ['--shm-size'], meanwhile: '/dev/shm is a 64 MiB tmpfs; mount a bigger one over it: --tmpfs /dev/shm:size=256m' },
  { names: ['--shm-size-systemd'], meanwhile: 'none yet' },
  { names: ['--cgroup-conf'], meanwhile: NO_CGROUP_LIMITS },
  { names: ['--cgroups'], meanwhile: 'a sandbox gets cgroups of its own exactly when it has a limit (--memory, --cpus, --pids-limit...): sandbox doctor says where' },
  { names: ['--cgroupns'], meanwhile: NAMESPACES },
  { names: ['--rdt-class'], meanwhile: 'none yet' },
  // namespaces, ids, privileges
  { names: ['--pid'], meanwhile: NAMESPACES },
  { names: ['--ipc'], meanwhile: NAMESPACES },
  { names: ['--uts'], meanwhile: NAMESPACES },
  { names: ['--personality'], meanwhile: 'run the command under setarch, where the image has it' },
  { names: ['--systemd'], meanwhile: 'none yet: an init of ours is always PID 1' },
  { names: ['--sdnotify'], meanwhile: 'none yet' },
  // users and files
  { names: ['--passwd-entry'], meanwhile: 'bind a passwd file of your own: -v ./passwd:/etc/passwd:ro' },
  { names: ['--group-entry'], meanwhile: 'bind a group file of your own: -v ./group:/etc/group:ro' },
  { names: ['--passwd'], meanwhile: 'bind a passwd file of your own: -v ./passwd:/etc/passwd:ro' },
  { names: ['--secret'], meanwhile: 'bind the secret read-only: -v ./secret:/run/secrets/NAME:ro' },
  { names: ['--volumes-from'], meanwhile: 'give the same -v options again' },
  { names: ['--image-volume'], meanwhile: 'none yet: the image\'s VOLUME paths stay part of the writable layer' },
  { names: ['--read-only-tmpfs'], meanwhile: 'with --read-only, add the tmpfs you need: --tmpfs /tmp --tmpfs /run' },
  { names: ['--chrootdirs'], meanwhile: 'none yet' },
  { names: ['--label-file'], meanwhile: 'give each label: -l KEY=VALUE' },
  { names: ['--umask'], meanwhile: 'set it in the command: sh -c \'umask 027; exec CMD\'' },
  { names: ['--unsetenv'], meanwhile: 'run the command under env -u VAR CMD' },
  { names: ['--unsetenv-all'], meanwhile: 'run the command under env -i CMD' },
  { names: ['--env-merge'], meanwhile: 'give the whole value: -e VAR=VALUE' },
  // images
  { names: ['--arch'], meanwhile: 'use --platform linux/ARCH' },
  { names: ['--os'], meanwhile: 'use --platform OS/ARCH' },
  { names: ['--variant'], meanwhile: 'use --platform OS/ARCH/VARIANT' },
  { names: ['--authfile'], meanwhile: 'pull first: sandbox pull --authfile FILE IMAGE, or sandbox login REGISTRY' },
  { names: ['--cert-dir'], meanwhile: 'none yet: put the registry\'s CA certificate in the system\'s trust store' },
  { names: ['--creds'], meanwhile: 'log in first: sandbox login REGISTRY' },
  { names: ['--decryption-key'], meanwhile: 'none yet: encrypted images cannot be pulled' },
  { names: ['--disable-content-trust'], meanwhile: 'leave it out (Podman ignores it too)' },
  { names: ['--rmi'], meanwhile: 'remove the image afterwards: sandbox rmi IMAGE' },
  // running
  { names: ['--requires'], meanwhile: 'start the others first: sandbox start A B' },
  { names: ['--health-on-failure'], meanwhile: HEALTH, by: 'health' },
  { names: ['--health-startup-cmd'], meanwhile: HEALTH, by: 'health' },
  { names: ['--health-startup-interval'], meanwhile: HEALTH, by: 'health' },
  { names: ['--health-startup-retries'], meanwhile: HEALTH, by: 'health' },
  { names: ['--health-startup-success'], meanwhile: HEALTH, by: 'health' },
  { names: ['--health-startup-timeout'], meanwhile: HEALTH, by: 'health' },
];

/** Podman's options of `exec` that we lack. */
export const MISSING_EXEC_OPTIONS: readonly MissingOption[] = [
  { names: ['-l', '--latest'], meanwhile: 'give the sandbox\'s name or id (sandbox ps lists them)' },
  { names: ['--preserve-fds'], meanwhile: 'none yet: only stdin, stdout and stderr reach the command' },
  { names: ['--detach-keys'], meanwhile: 'run it detached (-d)' },
];

export interface MissingCommand {
  /** The command as typed: `build`, `container checkpoint`. A top-level row covers the same word under `container`/`image`/... too. */
  command: string;
  meanwhile: string;
  by?: string;
}

const NOT_NEEDED_NO_DAEMON = 'not needed: there is no service; every sandbox command works on the store directly';

/**
 * Podman's commands that we lack, top level and in its container, image, volume and
 * system groups. A top-level row (`pause`) stands for the grouped spelling
 * (`container pause`) as well.
 */
export const MISSING_COMMANDS: readonly MissingCommand[] = [
  { command: 'auto-update', meanwhile: 'sandbox pull IMAGE, then remove and run the sandbox again' },
  { command: 'build', meanwhile: 'build with podman build or buildah, then podman save IMAGE | sandbox load; or sandbox run, then sandbox commit NAME IMAGE' },
  { command: 'compose', meanwhile: 'none yet: run each service with sandbox run -d' },
  { command: 'farm', meanwhile: 'none yet' },
  { command: 'generate', meanwhile: 'write a systemd --user unit whose ExecStart is sandbox run --rm --name NAME IMAGE ...' },
  { command: 'init', meanwhile: 'sandbox create, then sandbox start NAME' },
  { command: 'kube', meanwhile: 'none yet' },
  { command: 'play', meanwhile: 'none yet' },
  { command: 'machine', meanwhile: 'not needed: sandboxes run on this Linux host itself' },
  { command: 'manifest', meanwhile: 'pull one platform: sandbox pull --platform OS/ARCH IMAGE' },
  { command: 'search', meanwhile: 'skopeo list-tags docker://REGISTRY/NAME, or the registry\'s web page' },
  { command: 'secret', meanwhile: 'bind the secret read-only: sandbox run -v ./secret:/run/secrets/NAME:ro ...' },
  { command: 'artifact', meanwhile: 'none yet' },
  { command: 'quadlet', meanwhile: 'write a systemd --user unit whose ExecStart is sandbox run --rm --name NAME IMAGE ...' },
  // container ...
  { command: 'container checkpoint', meanwhile: 'none: CRIU cannot checkpoint without root here (rootless Podman refuses it too)' },
  { command: 'container restore', meanwhile: 'none: CRIU cannot restore without root here (rootless Podman refuses it too)' },
  { command: 'container cleanup', meanwhile: 'not needed: a sandbox cleans up after itself when it ends' },
  { command: 'container clone', meanwhile: 'sandbox commit NAME IMAGE, then sandbox run with the options again' },
  { command: 'container runlabel', meanwhile: 'read the label (sandbox inspect IMAGE) and run its command yourself' },
  // image ...
  { command: 'image sign', meanwhile: 'none yet' },
  { command: 'image trust', meanwhile: 'none yet' },
  { command: 'image scp', meanwhile: 'sandbox save IMAGE | ssh HOST sandbox load' },
  { command: 'image tree', meanwhile: 'sandbox history IMAGE' },
  { command: 'image mount', meanwhile: 'sandbox create IMAGE, then sandbox export NAME | tar -x -C DIR (a copy)' },
  // volume ...
  { command: 'network reload', meanwhile: 'not needed: each sandbox\'s links are its own; sandbox restart NAME joins its networks afresh' },
  { command: 'network update', meanwhile: 'none yet: sandbox network create another network and sandbox network connect the sandboxes to it' },
  { command: 'volume export', meanwhile: 'sandbox run --rm -v VOLUME:/v IMAGE tar -cf - -C /v . > volume.tar' },
  { command: 'volume import', meanwhile: 'sandbox run --rm -i -v VOLUME:/v IMAGE tar -xf - -C /v < volume.tar' },
  { command: 'volume reload', meanwhile: 'not needed: volumes are directories of the store, seen as soon as they exist' },
  { command: 'volume mount', meanwhile: 'sandbox volume inspect VOLUME: its Mountpoint is a directory of yours' },
  { command: 'volume unmount', meanwhile: 'not needed: sandbox volume inspect VOLUME shows its directory' },
  // system ...
  { command: 'system connection', meanwhile: NOT_NEEDED_NO_DAEMON },
  { command: 'system service', meanwhile: NOT_NEEDED_NO_DAEMON },
  { command: 'system migrate', meanwhile: 'not needed: the store needs no migration' },
  { command: 'system renumber', meanwhile: 'not needed' },
];

/** Podman's command groups whose words are Podman's top-level commands too (`container pause` = `pause`). */
const GROUPS_OF_TOP_LEVEL = ['container', 'image', 'volume', 'system'];

function byName<T extends { names: readonly string[] }>(rows: readonly T[]): ReadonlyMap<string, T> {
  const m = new Map<string, T>();
  for (const row of rows) for (const n of row.names) m.set(n, row);
  return m;
}

const indexes = new Map<readonly MissingOption[], ReadonlyMap<string, MissingOption>>();

/**
 * A table of missing options by spelling (`-p`, `--publish`), built once:
 * `missingOptions(MISSING_RUN_OPTIONS)` (each bundle keeps only the table it names).
 */
export function missingOptions(rows: readonly MissingOption[]): ReadonlyMap<string, MissingOption> {
  let index = indexes.get(rows);
  if (!index) indexes.set(rows, (index = byName(rows)));
  return index;
}

/**
 * The missing command for the words typed (`['container', 'pause']`, `['network', 'ls']`):
 * the longest row that the words start with, a group's word falling back on the
 * top-level row. Undefined when Podman has no such command either.
 */
export function missingCommand(words: readonly string[]): MissingCommand | undefined {
  const [first, second] = words;
  if (first === undefined) return undefined;
  const rows = new Map(MISSING_COMMANDS.map((r) => [r.command, r]));
  if (second !== undefined) {
    const grouped = rows.get(`${first} ${second}`);
    if (grouped) return grouped;
    if (GROUPS_OF_TOP_LEVEL.includes(first)) {
      const top = rows.get(second);
      if (top) return { ...top, command: `${first} ${second}` };
    }
  }
  return rows.get(first);
}
