/**
 * `--network slirp4netns[:OPTS]`: a network namespace of its own, connected to the
 * host's by slirp4netns (user-mode TCP/IP; in its default 10.0.2.0/24: tap0 .100,
 * gateway .2, DNS .3; the host's loopback closed). The monitor runs it (network.c) with
 * its messages in network.log of the sandbox's directory.
 *
 * OPTS are Podman's (comma-separated KEY=VALUE): allow_host_loopback, cidr, enable_ipv6,
 * mtu, outbound_addr, outbound_addr6, port_handler. port_handler is taken and has no
 * effect: published ports are served by our own forwarder either way (rootlesskit's and
 * slirp4netns' both lose the source address; so does ours, pasta keeps it).
 */
import { posix } from 'node:path';
import { SandboxError, clipped } from '../errors.js';
import { Flag } from '../runtime/protocol.js';
import type { RunRequest } from '../types.js';
import type { NetworkAddress, NetworkDriver } from './driver.js';
import { routableNameservers } from './name-files.js';

/** What `slirp4netns:OPTS` says, checked. */
export interface SlirpOptions {
  allowHostLoopback: boolean;
  /** The IPv4 network, `A.B.C.D/N`. */
  cidr: string;
  enableIPv6: boolean;
  mtu: number;
  outboundAddr?: string;
  outboundAddr6?: string;
  portHandler: 'rootlesskit' | 'slirp4netns';
}

const KEYS = ['allow_host_loopback', 'cidr', 'enable_ipv6', 'mtu', 'outbound_addr', 'outbound_addr6', 'port_handler'];
const HINT = `slirp4netns takes ${KEYS.map((k) => `${k}=`).join(', ')} (e.g. slirp4netns:allow_host_loopback=true)`;

/** Dotted IPv4 (no node:net here: this module is on run's hot path). */
function isIPv4(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  return m !== null && m.slice(1).every((b) => Number(b) <= 255);
}

/** An IPv6 address in its text form, roughly (slirp4netns checks it exactly). */
function isIPv6(v: string): boolean {
  return v.includes(':') && /^[0-9A-Fa-f:.]+$/.test(v) && !v.includes(':::');
}

function bad(message: string): SandboxError {
  return new SandboxError(`--network slirp4netns: ${message}`, { hint: HINT });
}

function bool(key: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw bad(`invalid value of ${key} ${JSON.stringify(clipped(value))}: true or false`);
}

/** An interface name or an address of the family (outbound_addr, outbound_addr6). */
function outbound(key: string, value: string, isAddress: (v: string) => boolean): string {
  if (isAddress(value) || /^[A-Za-z0-9_.:-]{1,15}$/.test(value) && !isIPv4(value) && !isIPv6(value)) return value;
  throw bad(`invalid value of ${key} ${JSON.stringify(clipped(value))}: an interface name or an address`);
}

/** `slirp4netns:OPTS` as Podman spells them; an unknown key or a bad value is one line. Pure. */
export function parseSlirpOptions(options: readonly string[]): SlirpOptions {
  const o: SlirpOptions = { allowHostLoopback: false, cidr: '10.0.2.0/24', enableIPv6: false, mtu: 65520, portHandler: 'rootlesskit' };
  for (const word of options) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (!KEYS.includes(key) || eq < 0) throw bad(`unknown option ${JSON.stringify(clipped(word))}`);
    switch (key) {
      case 'allow_host_loopback': o.allowHostLoopback = bool(key, value); break;
      case 'enable_ipv6': o.enableIPv6 = bool(key, value); break;
      case 'mtu': {
        const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
        if (!(n >= 68 && n <= 65521)) throw bad(`invalid value of mtu ${JSON.stringify(clipped(value))}: a number from 68 to 65521`);
        o.mtu = n;
        break;
      }
      case 'cidr': {
        const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(value);
        if (!m || !isIPv4(m[1]!) || Number(m[2]) < 8 || Number(m[2]) > 25) {
          throw bad(`invalid value of cidr ${JSON.stringify(clipped(value))}: an IPv4 network A.B.C.D/N, N from 8 to 25`);
        }
        o.cidr = `${networkOf(m[1]!, Number(m[2]))}/${m[2]}`;
        break;
      }
      case 'outbound_addr': o.outboundAddr = outbound(key, value, isIPv4); break;
      case 'outbound_addr6': o.outboundAddr6 = outbound(key, value, isIPv6); break;
      case 'port_handler':
        if (value !== 'rootlesskit' && value !== 'slirp4netns') throw bad(`invalid value of port_handler ${JSON.stringify(clipped(value))}: rootlesskit or slirp4netns`);
        o.portHandler = value;
        break;
    }
  }
  if (o.outboundAddr6 !== undefined && !o.enableIPv6) throw bad('outbound_addr6 needs enable_ipv6=true');
  return o;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}
function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString()).join('.');
}
function networkOf(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return toIp(Math.floor(toInt(ip) / size) * size);
}

/** slirp4netns' fixed addresses in `cidr`: the sandbox .100, gateway (the host) .2, DNS .3. */
export function slirpAddresses(cidr: string): NetworkAddress & { dns: string } {
  const [net, prefix] = cidr.split('/') as [string, string];
  const base = toInt(net);
  return { ip: toIp(base + 100), prefixLen: Number(prefix), gateway: toIp(base + 2), dns: toIp(base + 3) };
}

/** slirp4netns' options for OPTS (after --configure and the fds network.c adds). Pure. */
export function slirpArgs(o: SlirpOptions): string[] {
  const args = [`--mtu=${o.mtu}`];
  if (!o.allowHostLoopback) args.push('--disable-host-loopback');
  if (o.cidr !== '10.0.2.0/24') args.push(`--cidr=${o.cidr}`);
  if (o.enableIPv6) args.push('--enable-ipv6');
  if (o.outboundAddr !== undefined) args.push(`--outbound-addr=${o.outboundAddr}`);
  if (o.outboundAddr6 !== undefined) args.push(`--outbound-addr6=${o.outboundAddr6}`);
  return args;
}

function options(request: RunRequest | undefined): SlirpOptions {
  return parseSlirpOptions(request?.networkOptions ?? []);
}

export const slirp4netnsDriver: NetworkDriver = {
  mode: 'slirp4netns',
  launchDriver: 'slirp4netns',
  tools: [{ name: 'slirp4netns', debianPackage: 'slirp4netns', why: 'for --network slirp4netns; --network pasta, none or host work without it' }],
  checkOptions: (opts) => { parseSlirpOptions(opts); },
  launchArgs: ({ request, tools, dir }) => {
    const path = tools.slirp4netns;
    if (!path) throw new SandboxError('internal: slirp4netns path missing from the launch input');
    return [Flag.networkCmd, path, Flag.netLog, posix.join(dir, 'network.log'), ...slirpArgs(options(request)).flatMap((w) => [Flag.networkArg, w])];
  },
  // slirp4netns forwards DNS at .3 of its network to the host's resolver; the host's own
  // servers follow where they are reachable from here (not on its loopback), as Podman
  // writes them. The host's address reaches the host through slirp4netns' sockets (its
  // services on that address or on all of them; its loopback stays closed unless
  // allow_host_loopback=true).
  names: ({ request, host }) => {
    const { ip, dns } = slirpAddresses(options(request).cidr);
    return { ownAddress: ip, hostAddress: host.address(), nameservers: [...new Set([dns, ...routableNameservers(host.resolvConf())])] };
  },
  inspectMode: () => 'slirp4netns',
  // slirp4netns' fixed addresses (its defaults with --configure).
  address: { ip: '10.0.2.100', prefixLen: 24, gateway: '10.0.2.2' },
  addressOf: (request) => {
    const { ip, prefixLen, gateway } = slirpAddresses(options(request).cidr);
    return { ip, prefixLen, gateway };
  },
};
