/**
 * IPv4 subnets of user-defined networks: parsing, overlap, the next free one from
 * Podman's range for new networks (10.89.0.0/24, 10.89.1.0/24, ...), and the next free
 * address of a member. Pure.
 */
import { SandboxError } from '../errors.js';

export interface Subnet {
  /** The network address, as a 32-bit number. */
  base: number;
  prefix: number;
}

/** Where new networks' subnets come from, as Podman's rootless default: 10.89.N.0/24. */
const POOL_BASE = ipNumber('10.89.0.0');
const POOL_SIZE = 256;

/** slirp4netns's own subnet (the outside link of every sandbox that is not --internal). */
const SLIRP_SUBNET: Subnet = { base: ipNumber('10.0.2.0'), prefix: 24 };

export function ipNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) < 256)) return NaN;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function ipString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function subnetString(s: Subnet): string {
  return `${ipString(s.base)}/${s.prefix}`;
}

/** `a.b.c.d/len` (IPv4; 8 <= len <= 30), with host bits cleared as Podman does. */
export function parseSubnet(text: string): Subnet {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  const ip = m ? ipNumber(m[1]!) : NaN;
  const prefix = m ? Number(m[2]) : NaN;
  if (Number.isNaN(ip) || !(prefix >= 8 && prefix <= 30)) {
    throw new SandboxError(`invalid subnet ${JSON.stringify(text)}`, { hint: 'an IPv4 subnet from /8 to /30, e.g. --subnet 10.89.5.0/24 (IPv6 networks are not supported yet)' });
  }
  return { base: (ip & mask(prefix)) >>> 0, prefix };
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefix)) >>> 0) === s.base;
}

/** Why `s` cannot be a network's subnet next to `taken`, or undefined. */
export function subnetClash(s: Subnet, taken: readonly { name: string; subnet: Subnet }[]): string | undefined {
  if (overlaps(s, SLIRP_SUBNET)) return `it overlaps ${subnetString(SLIRP_SUBNET)}, the outside link of every sandbox (slirp4netns)`;
  const other = taken.find((t) => overlaps(s, t.subnet));
  return other ? `it overlaps ${subnetString(other.subnet)} of network ${other.name}` : undefined;
}

/** The first /24 of 10.89.0.0/16 that no network uses. */
export function nextFreeSubnet(taken: readonly { name: string; subnet: Subnet }[]): Subnet {
  for (let i = 0; i < POOL_SIZE; i++) {
    const s = { base: (POOL_BASE + i * 256) >>> 0, prefix: 24 };
    if (!subnetClash(s, taken)) return s;
  }
  throw new SandboxError('no free subnet left in 10.89.0.0/16', { hint: 'remove networks you no longer need (sandbox network prune), or give one with --subnet' });
}

/** The gateway Podman would give (the first address), unless one is given. */
export function defaultGateway(s: Subnet): string {
  return ipString(s.base + 1);
}

/** The lowest address of `s` that is neither the network's, the broadcast, the gateway nor in `used`. */
export function nextFreeAddress(s: Subnet, gateway: string, used: readonly string[]): string {
  const taken = new Set([...used, gateway]);
  const last = s.base + 2 ** (32 - s.prefix) - 1;
  for (let n = s.base + 1; n < last; n++) {
    const ip = ipString(n);
    if (!taken.has(ip)) return ip;
  }
  throw new SandboxError(`network ${subnetString(s)} has no free address left`, { hint: 'remove sandboxes of that network, or make a network with a larger --subnet' });
}
