/**
 * cgroup v2 from outside the user's delegated subtree (an ssh login sits in
 * `session-N.scope`, which is not delegated): the processes that must join a sandbox's
 * cgroup (`user@UID.service/sandbox.slice/<id>`) start in a transient scope of the
 * user's systemd manager, as Podman starts every container. Moving a process between
 * cgroups needs write access to cgroup.procs of their common ancestor; from the scope,
 * inside user@UID.service, that ancestor is user@UID.service, which is the user's.
 *
 * The way: `systemd-run --user --scope --quiet --collect --unit=... --` before the
 * helper's argv. systemd-run asks the manager for the scope with its own pid, then execs
 * the helper in place: same pid, same descriptors (the status pipe on fd 3, the plan on
 * fd 4 or in the environment), same environment. Only a sandbox with a cgroup started or
 * exec'd into from outside the subtree pays for it (a D-Bus round trip to the manager).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxCgroup } from '../../state/sandboxes.js';
import { SandboxError } from '../../errors.js';
import { ownV2Path, userServicePrefix } from './detect.js';

/** Whether the user's systemd manager can start a scope for us, or why not and the fix. */
export type UserManager = { systemdRun: string } | { why: string; fix: string };

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const file = join(dir, name);
    try { accessSync(file, constants.X_OK); return file; } catch { /* not here */ }
  }
  return undefined;
}

/**
 * The user's manager as systemd-run --user reaches it: its private socket
 * ($XDG_RUNTIME_DIR/systemd/private) or the user bus. A few stat(2)s.
 */
export function userManager(uid: number, env: NodeJS.ProcessEnv = process.env): UserManager {
  const systemdRun = onPath('systemd-run', env);
  if (!systemdRun) return { why: 'systemd-run is not installed', fix: 'install systemd\'s systemd-run (Debian: it comes with systemd)' };
  const runtime = env.XDG_RUNTIME_DIR;
  if (!runtime) return { why: 'XDG_RUNTIME_DIR is not set, so your systemd user manager cannot be reached', fix: `export XDG_RUNTIME_DIR=/run/user/${uid}` };
  const bus = env.DBUS_SESSION_BUS_ADDRESS?.match(/^unix:path=([^,;]+)/)?.[1];
  if (existsSync(join(runtime, 'systemd', 'private')) || existsSync(join(runtime, 'bus')) || (bus && existsSync(bus))) return { systemdRun };
  return {
    why: `your systemd user manager is not running (no ${join(runtime, 'systemd', 'private')})`,
    fix: `log in through a systemd session, or have an administrator run \`loginctl enable-linger ${uid}\``,
  };
}

/** Whether this process sits in the user's delegated subtree (user@UID.service). */
export function insideUserService(uid: number, procSelfCgroup?: string): boolean {
  let text = procSelfCgroup;
  if (text === undefined) { try { text = readFileSync('/proc/self/cgroup', 'utf8'); } catch { return false; } }
  const own = ownV2Path(text);
  return own !== undefined && userServicePrefix(own, uid) !== undefined;
}

/** systemd-run's words that start `command` in a transient scope `unit` of the user's manager. */
export function scopeWords(systemdRun: string, unit: string): string[] {
  return [systemdRun, '--user', '--scope', '--quiet', '--collect', `--unit=${unit}`, '--'];
}

/**
 * The argv prefix a process that joins the sandbox's cgroup `cg` needs from here
 * (`role`: the monitor of a start, or an exec'd command), or undefined when none is
 * needed (no v2 cgroup, or already inside user@UID.service). Throws the one-line error
 * when the manager cannot be reached: the move would be refused (EACCES).
 */
export function scopePrefix(cg: SandboxCgroup | undefined, id: string, role: 'run' | 'exec', uid = process.getuid?.() ?? 0): string[] | undefined {
  if (cg?.version !== 2 || insideUserService(uid)) return undefined;
  const manager = userManager(uid);
  if (!('systemdRun' in manager)) {
    throw new SandboxError(`cannot put the sandbox's processes in its cgroup ${cg.paths.unified}: this process is outside user@${uid}.service and ${manager.why}`, {
      hint: `${manager.fix}; or run it from inside your systemd user session`,
    });
  }
  // Unique: a scope of a monitor that just ended may not be collected yet. (Math.random:
  // node:crypto is not worth loading on exec's path for a name.)
  const tag = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return scopeWords(manager.systemdRun, `sandbox-${role}-${id.slice(0, 12)}-${tag}.scope`);
}

/** The environment systemd-run --user needs to find the manager (exec starts its helper with nothing else). */
export function managerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'PATH']) if (env[k]) out[k] = env[k]!;
  return out;
}
