/**
 * `unshare [COMMAND...]`: a shell (or COMMAND) as root of a new user namespace with the
 * sandboxes' id mapping (your uid as 0, your /etc/subuid range from 1) and a mount
 * namespace of its own, as `podman unshare`: files that sandboxes left owned by
 * subordinate ids (in volumes, bind mounts, the store) can be read, chowned, removed there,
 * and `sandbox mount` mounts a sandbox's root there.
 *
 * Util-linux `unshare` (>= 2.38, --map-users) when the mapping is one range: it execs the
 * command itself, so an interactive shell keeps the terminal and its job control. Else
 * our helper's --userns-only, which runs the command from a monitor (no job control).
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findTool, helperPath } from '../runtime/host-tools.js';
import { mapArgs, userIdMaps, type UserIdMaps } from '../runtime/userns.js';
import { Flag } from '../runtime/protocol.js';
import { spawn } from '../runtime/spawn.js';

/** Set inside `sandbox unshare` to the user's own uid (Podman: _CONTAINERS_USERNS_CONFIGURED and _CONTAINERS_ROOTLESS_UID). */
export const UNSHARED_ENV = '_SANDBOX_UNSHARED_UID';
/** Set inside `sandbox unshare` to the store's data directory (Podman: CONTAINERS_GRAPHROOT). */
export const STORE_ENV = 'SANDBOX_STORE';

/** The util-linux `unshare` options for `maps`, or undefined when they need more than it takes (several ranges). Pure. */
export function utilLinuxUnshareArgs(maps: Pick<UserIdMaps, 'uid' | 'gid'>): string[] | undefined {
  const uid = maps.uid.filter((m) => m.inside !== 0);
  const gid = maps.gid.filter((m) => m.inside !== 0);
  const own = (ms: UserIdMaps['uid']) => ms.some((m) => m.inside === 0 && m.count === 1);
  if (uid.length !== 1 || gid.length !== 1 || !own(maps.uid) || !own(maps.gid)) return undefined;
  return [
    '--user', '--mount', '--map-root-user',
    `--map-users=${uid[0]!.outside},${uid[0]!.inside},${uid[0]!.count}`,
    `--map-groups=${gid[0]!.outside},${gid[0]!.inside},${gid[0]!.count}`,
  ];
}

/** Whether this util-linux `unshare` takes --map-users (2.38 and later). */
function takesMapUsers(unshare: string): boolean {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process'); // not at start-up
  const help = spawnSync(unshare, ['--help'], { encoding: 'utf8' });
  return help.status === 0 && help.stdout.includes('--map-users');
}

/** Whether this process runs inside `sandbox unshare` (root of its namespace, with the marker). */
export function insideUnshare(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[UNSHARED_ENV] !== undefined && process.getuid?.() === 0;
}

/** Runs `command` (default: $SHELL, else /bin/sh) in the user namespace; resolves to its exit status. */
export function runUnshared(paths: StorePaths, command: string[]): Promise<number> {
  if (insideUnshare()) {
    throw new SandboxError('already inside `sandbox unshare`', { hint: 'run the command directly here' });
  }
  const maps = userIdMaps();
  if (!maps.tools) {
    throw new SandboxError('unshare needs your subordinate id range, and there is none', { hint: maps.degraded ?? 'see `sandbox doctor`' });
  }
  const argv = command.length ? command : [process.env.SHELL || '/bin/sh'];
  const env = { ...process.env, [UNSHARED_ENV]: String(process.getuid?.() ?? 0), [STORE_ENV]: paths.data };
  const unshare = findTool('unshare');
  const viaUtil = unshare ? utilLinuxUnshareArgs(maps) : undefined;
  const [file, args] = unshare && viaUtil && takesMapUsers(unshare)
    ? [unshare, [...viaUtil, '--', ...argv]]
    : [helperPath(), [Flag.usernsOnly, ...mapArgs(maps), '--', ...argv]];
  const child = spawn(file, args, { stdio: 'inherit', env });
  // The terminal's Ctrl-C and Ctrl-\ are for the command (as with system(3)): we wait for it.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new SandboxError(`cannot start ${file}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      const os = require('node:os') as typeof import('node:os');
      resolve(signal ? 128 + (os.constants.signals[signal] ?? 0) : code ?? 125);
    });
  });
}
