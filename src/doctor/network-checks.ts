/**
 * `sandbox doctor`, networking: whether host ports below 1024 can be published
 * (net.ipv4.ip_unprivileged_port_start) and, for each `--network` mode this version has,
 * whether it will work here (its host programs, /dev/net/tun). Pure judging of
 * `HostFacts` (checks.ts) plus the one probe they need (`gatherNetworkFacts`).
 */
import { readFileSync } from 'node:fs';
import type { NetworkMode } from '../types.js';
import { DEFAULT_NETWORK, WORKING_NETWORK_MODES, networkModeTools } from '../network/driver.js';
import { deviceProblem, type DoctorCheck, type HostFacts, type ToolName } from './checks.js';

export interface NetworkHostFacts {
  /**
   * /proc/sys/net/ipv4/ip_unprivileged_port_start of the host's network namespace (the
   * one published ports are bound in): the lowest port a user may bind; null when absent.
   */
  unprivilegedPortStart: number | null;
}

export function gatherNetworkFacts(): NetworkHostFacts {
  let v: number | null = null;
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    if (Number.isInteger(n)) v = n;
  } catch { /* an old kernel (< 4.11): only root binds ports below 1024 */ }
  return { unprivilegedPortStart: v };
}

/** Ports from here up cover the usual services (http 80, https 443); lower ones (ssh 22, dns 53) stay the administrator's. */
const SUGGESTED_PORT_START = 80;
const PORTS_CONF = '/etc/sysctl.d/60-sandbox-ports.conf';

/** `-p HOSTPORT:...` with a host port below 1024: the host must let users bind it. */
export function checkUnprivilegedPorts(f: HostFacts): DoctorCheck {
  const base = { id: 'unprivileged-ports' as const, title: 'host ports below 1024' };
  const start = f.network?.unprivilegedPortStart ?? null;
  if (f.user.uid === 0) return { ...base, status: 'ok', detail: 'root binds any port' };
  const key = 'net.ipv4.ip_unprivileged_port_start';
  const fix = `sudo sysctl -w ${key}=${SUGGESTED_PORT_START} && echo ${key}=${SUGGESTED_PORT_START} | sudo tee ${PORTS_CONF}`;
  if (start === null) {
    return { ...base, status: 'warn', detail: `${key} is missing (a kernel older than 4.11): host ports below 1024 cannot be published; 1024 and up can` };
  }
  if (start <= SUGGESTED_PORT_START) {
    return { ...base, status: 'ok', detail: start === 0 ? `${key} is 0: any host port can be published` : `${key} is ${start}: host ports from ${start} up can be published` };
  }
  return {
    ...base,
    status: 'warn',
    detail: `${key} is ${start}: \`-p\` with a host port below ${start} fails (as in rootless Podman); ports from ${start} up work. ` +
      `The fix lets every user bind ports from ${SUGGESTED_PORT_START} up (choose the lowest port you publish; 0 allows all, ssh's 22 too)`,
    fix,
  };
}

/** The modes whose helper needs /dev/net/tun (a tap device in the sandbox's namespace). */
const NEEDS_TUN: ReadonlySet<NetworkMode> = new Set<NetworkMode>(['slirp4netns', 'pasta']);

/** What each mode gives, for its line when it works. */
const WHAT: { readonly [M in NetworkMode]?: string } = {
  none: 'loopback only',
  host: "the host's network, not isolated",
  slirp4netns: 'a namespace of its own, user-mode TCP/IP',
  pasta: 'a namespace of its own, user-mode TCP/IP that keeps source addresses',
};

/** The oldest slirp4netns with every option we pass (--outbound-addr, --disable-host-loopback, --cidr: 1.1.0). */
export const MIN_SLIRP4NETNS = '1.1.0';

/** Dotted version numbers compared (`1.2.0` vs `1.1.0`): negative, zero or positive. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** One line per `--network` mode of this version: will it work here, and if not, the fix. */
export function checkNetworkModes(f: HostFacts): DoctorCheck[] {
  return WORKING_NETWORK_MODES.map((mode) => checkNetworkMode(f, mode));
}

/**
 * One `--network` mode: its host programs (with the user-mode helper's version, which
 * decides the options it takes) and, for slirp4netns and pasta, /dev/net/tun (both open a
 * tap device inside the sandbox's namespaces).
 */
export function checkNetworkMode(f: HostFacts, mode: NetworkMode): DoctorCheck {
  const base = { id: 'network-mode' as const, title: `--network ${mode}` };
  const tools = networkModeTools(mode);
  const missing = tools.filter((t) => !f.tools[t.name as ToolName]);
  if (missing.length) {
    return { ...base, status: 'warn', detail: `will not work: ${missing.map((t) => t.name).join(', ')} not found`, fix: `sudo apt-get install ${[...new Set(missing.map((t) => t.debianPackage))].join(' ')}` };
  }
  const versioned = mode === 'slirp4netns' || mode === 'pasta';
  const version = versioned ? f.networkVersions?.[mode] ?? null : null;
  const found = tools.map((t) => f.tools[t.name as ToolName]!.path + (versioned ? (version ? ` ${version}` : ' (version unknown)') : ''));
  const what = found.length ? ` (${found.join(', ')})` : '';
  if (mode === 'slirp4netns' && version) {
    const n = /^(\d+\.\d+\.\d+)/.exec(version)?.[1];
    if (n && compareVersions(n, MIN_SLIRP4NETNS) < 0) {
      return { ...base, status: 'warn', detail: `will not work with every option: older than ${MIN_SLIRP4NETNS}, some slirp4netns:OPTS fail${what}`, fix: 'sudo apt-get install --only-upgrade slirp4netns' };
    }
  }
  const tun = NEEDS_TUN.has(mode) && f.user.uid !== 0 ? deviceProblem(f.devNetTun, 'tun') : null;
  if (tun) return { ...base, status: 'warn', detail: `will not work: ${tun.why}${what}`, fix: tun.fix };
  const dflt = mode === DEFAULT_NETWORK ? ', the default' : '';
  return { ...base, status: 'ok', detail: `works: ${WHAT[mode] ?? mode}${dflt}${what}` };
}
