/**
 * Linux capabilities by name and number, and which ones a sandbox's command gets:
 * Podman's default set, changed by --cap-add/--cap-drop with Docker's rules. Pure.
 */
import { SandboxError } from '../errors.js';


/** The Linux capabilities and their numbers (linux/capability.h, up to 6.x kernels). */
export const LINUX_CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

const CAP_HINT = 'capabilities are named like NET_ADMIN or CAP_NET_ADMIN (any case; see capabilities(7)), or ALL';

/** `net_admin`, `CAP_NET_ADMIN` -> `CAP_NET_ADMIN`; `all` -> `ALL`; unknown -> error. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!Object.prototype.hasOwnProperty.call(LINUX_CAPABILITIES, full)) {
    throw new SandboxError(`unknown capability ${JSON.stringify(name)}`, { hint: CAP_HINT });
  }
  return full;
}

/** Podman's default capability set for a container's root, sorted by number. */
export function defaultCapabilities(): string[] {
  return [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FOWNER',
    'CAP_FSETID',
    'CAP_KILL',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT',
    'CAP_SETFCAP',
  ];
}

/**
 * The capability numbers the command gets, sorted, with Docker's rules: `--cap-add ALL`
 * gives all but the dropped ones; `--cap-drop ALL` gives only the added ones; otherwise
 * the defaults minus the dropped plus the added (an add beats a drop of the same one).
 */
export function effectiveCapabilities(add: readonly string[], drop: readonly string[]): number[] {
  const adds = add.map(normalizeCapability);
  const drops = drop.map(normalizeCapability);
  const all = Object.keys(LINUX_CAPABILITIES);
  let names: string[];
  if (adds.includes('ALL')) names = all.filter((c) => !drops.includes(c));
  else if (drops.includes('ALL')) names = adds;
  else names = [...defaultCapabilities().filter((c) => !drops.includes(c)), ...adds];
  const numbers = new Set(names.map((c) => LINUX_CAPABILITIES[c] as number));
  return [...numbers].sort((a, b) => a - b);
}


/**
 * The capabilities of a sandbox's command, or of one exec'd into it: with `--privileged`
 * every one but those dropped (`exec --privileged`: every one), as Podman; else
 * effectiveCapabilities. Inside the sandbox's user namespace either way: never more than
 * the caller has outside.
 */
export function commandCapabilities(request: { capAdd: readonly string[]; capDrop: readonly string[]; privileged?: boolean }, execPrivileged = false): number[] {
  if (execPrivileged) return effectiveCapabilities(['ALL'], []);
  if (request.privileged) return effectiveCapabilities(['ALL'], request.capDrop);
  return effectiveCapabilities(request.capAdd, request.capDrop);
}
