/**
 * A sandbox's /etc/hosts and /etc/resolv.conf. Pure text builders (hostsFile,
 * resolvConfFile), the `--add-host` / `--dns*` values they take (parseAddHost,
 * checkDns*), and sandboxNameFiles, which puts a network driver's facts (driver.ts,
 * `names`) and the run options together. The host's own files and address are read
 * only through HostNameFiles, and only when a file needs them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SandboxError } from '../errors.js';
import type { RunRequest } from '../types.js';

/** The host's files and address a driver may start from, read only when asked. */
export interface HostNameFiles {
  resolvConf(): string;
  hosts(): string;
  /** The host's first address that is not loopback (IPv4 before IPv6), '' when it has none. */
  address(): string;
}

/** What `os.networkInterfaces()` gives, the part that matters here. */
type Interfaces = Readonly<Record<string, readonly { address: string; family: string | number; internal: boolean; scopeid?: number }[] | undefined>>;

/**
 * The host's address as Podman picks it for host.containers.internal: the first that is
 * not loopback, IPv4 first (an IPv6 one only when there is no IPv4; never link-local).
 */
export function firstHostAddress(ifaces: Interfaces): string {
  const all = Object.values(ifaces).flatMap((list) => list ?? []).filter((a) => !a.internal);
  const v4 = all.find((a) => a.family === 'IPv4' || a.family === 4);
  if (v4) return v4.address;
  return all.find((a) => (a.family === 'IPv6' || a.family === 6) && !/^fe80:/i.test(a.address))?.address ?? '';
}

/** The host's own /etc/resolv.conf and /etc/hosts (empty when it has none), and its address. */
export const hostNameFiles: HostNameFiles = {
  resolvConf: () => readOr('/etc/resolv.conf'),
  hosts: () => readOr('/etc/hosts'),
  address: () => firstHostAddress(networkInterfaces()),
};

function readOr(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** One line of /etc/hosts: an address and its names. */
export interface HostEntry {
  ip: string;
  names: string[];
}

/** The name that reaches the host from inside (Podman's), and the `--add-host` address that means the host. */
export const HOST_CONTAINERS_INTERNAL = 'host.containers.internal';
export const HOST_GATEWAY = 'host-gateway';
/** The address of the sandbox's own name where its network gives it none (Debian's habit: loopback, not 127.0.0.1). */
export const NO_ADDRESS = '127.0.1.1';

const ADD_HOST_HINT = 'give --add-host NAME:IP (e.g. db:10.0.0.5, v6:[::1], several names: a;b:10.0.0.5, or NAME:host-gateway for the host)';
// A name of /etc/hosts: one word, no comment sign (anything else would make other names or none).
const HOSTS_NAME = /^[^\s#\0;:]+$/;

/**
 * One `--add-host` value: `NAME[;NAME...]:IP`, the IP an IPv4 or IPv6 address (brackets
 * allowed) or `host-gateway`. Throws a SandboxError naming what is wrong.
 */
export function parseAddHost(spec: string): HostEntry {
  const colon = spec.indexOf(':');
  const invalid = (why: string) => new SandboxError(`invalid --add-host ${JSON.stringify(spec)}: ${why}`, { hint: ADD_HOST_HINT });
  if (colon < 0) throw invalid('not NAME:IP');
  const names = spec.slice(0, colon).split(';');
  let ip = spec.slice(colon + 1);
  if (names.some((n) => n === '')) throw invalid('empty name');
  const bad = names.find((n) => !HOSTS_NAME.test(n));
  if (bad !== undefined) throw invalid(`${JSON.stringify(bad)} is not a host name (no spaces, "#", ";" or ":")`);
  if (/^\[.*\]$/.test(ip)) ip = ip.slice(1, -1);
  if (ip !== HOST_GATEWAY && isIP(ip) === 0) throw invalid(`${JSON.stringify(ip)} is not an IP address (nor host-gateway)`);
  return { ip, names };
}

const DNS_HINT = 'give --dns IP (repeatable), or --dns none to keep the image\'s /etc/resolv.conf';

/** `--dns` values: IP addresses, or `none` alone (no resolv.conf of ours: the image's stays). */
export function checkDns(values: readonly string[]): string[] {
  for (const v of values) {
    if (v === 'none') {
      if (values.length > 1) throw new SandboxError('--dns none cannot be combined with other --dns addresses', { hint: DNS_HINT });
    } else if (isIP(v) === 0) {
      throw new SandboxError(`invalid --dns ${JSON.stringify(v)}: not an IP address`, { hint: DNS_HINT });
    }
  }
  return [...values];
}

// Labels of letters, digits, "-" and "_", separated by dots, a trailing dot allowed.
const DOMAIN = /^[a-zA-Z0-9_]([a-zA-Z0-9_-]*[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]*[a-zA-Z0-9_])?)*\.?$/;

/** `--dns-search` values: domains, or `.` alone (no search domains at all, not even the host's). */
export function checkDnsSearch(values: readonly string[]): string[] {
  for (const v of values) {
    if (v === '.') {
      if (values.length > 1) throw new SandboxError('--dns-search . cannot be combined with other search domains', { hint: 'give . alone (no search domains) or the domains' });
    } else if (v.length > 253 || !DOMAIN.test(v)) {
      throw new SandboxError(`invalid --dns-search ${JSON.stringify(v)}: not a domain`, { hint: 'e.g. --dns-search example.com (repeatable), or --dns-search . for none' });
    }
  }
  return [...values];
}

/** `--dns-option` values: resolv.conf options, one word each (`ndots:2`, `rotate`, `edns0`). */
export function checkDnsOptions(values: readonly string[]): string[] {
  for (const v of values) {
    if (!/^[^\s#;\0]+$/.test(v)) {
      throw new SandboxError(`invalid --dns-option ${JSON.stringify(v)}: one resolv.conf option a time`, { hint: 'e.g. --dns-option ndots:2 --dns-option rotate' });
    }
  }
  return [...values];
}

/** What makes /etc/hosts (in this order, as Podman writes it: the first line with a name wins). */
export interface HostsInput {
  /** `--add-host` entries, host-gateway already resolved. */
  extra: readonly HostEntry[];
  /** The host's /etc/hosts, Podman's base ('' when it has none: localhost lines stand in). */
  base: string;
  /** What host.containers.internal names ('' or absent: no such line); left out when `extra` names it. */
  hostAddress?: string;
  /** The sandbox's own address with its hostname and name, then what its networks add (members, aliases). */
  own: readonly HostEntry[];
}

const LOCALHOST: readonly HostEntry[] = [
  { ip: '127.0.0.1', names: ['localhost'] },
  { ip: '::1', names: ['localhost', 'ip6-localhost', 'ip6-loopback'] },
];

const entryLine = (e: HostEntry) => `${e.ip}\t${[...new Set(e.names)].join(' ')}`;

/** /etc/hosts: the `--add-host` lines, the host's file (or localhost), host.containers.internal, the sandbox's own. Pure. */
export function hostsFile(input: HostsInput): string {
  const baseLines = input.base.split('\n').map((l) => l.trimEnd());
  while (baseLines.length && baseLines[baseLines.length - 1] === '') baseLines.pop();
  const named = (name: string) => (l: string) => l.replace(/#.*/, '').trim().split(/\s+/).slice(1).includes(name);
  const out = input.extra.map(entryLine);
  // A base without localhost gets it (an empty or odd host file still leaves it resolvable).
  if (!baseLines.some(named('localhost'))) out.push(...LOCALHOST.map(entryLine));
  out.push(...baseLines);
  const overridden = input.extra.some((e) => e.names.includes(HOST_CONTAINERS_INTERNAL));
  if (input.hostAddress && !overridden) out.push(entryLine({ ip: input.hostAddress, names: [HOST_CONTAINERS_INTERNAL] }));
  out.push(...input.own.filter((e) => e.names.length).map(entryLine));
  return `${out.join('\n')}\n`;
}

/** What replaces the host's resolv.conf lines; an absent field keeps the host's lines of that kind. */
export interface ResolvInput {
  nameservers?: readonly string[];
  /** Search domains (`[]`: none). */
  search?: readonly string[];
  options?: readonly string[];
}

/**
 * resolv.conf from the host's: the host's text as it is when nothing replaces anything;
 * else the given search, nameserver and options lines first (Podman's order), then the
 * host's other lines that none of them replaces. Pure.
 */
export function resolvConfFile(host: string, input: ResolvInput): string {
  const { nameservers, search, options } = input;
  if (!nameservers && !search && !options) return host;
  const kind = (l: string) => /^\s*(nameserver|search|domain|options)\s/.exec(`${l} `)?.[1];
  const kept = host.split('\n').filter((l) => {
    const k = kind(l);
    if (k === 'nameserver') return !nameservers;
    if (k === 'search' || k === 'domain') return !search;
    if (k === 'options') return !options;
    return l.trim() !== '';
  });
  const out: string[] = [];
  if (search?.length) out.push(`search ${search.join(' ')}`);
  for (const ns of nameservers ?? []) out.push(`nameserver ${ns}`);
  if (options?.length) out.push(`options ${options.join(' ')}`);
  out.push(...kept);
  return out.length ? `${out.join('\n')}\n` : '';
}

/** The `nameserver` addresses of a resolv.conf, in order. */
export function nameserversOf(resolvConf: string): string[] {
  return resolvConf.split('\n').flatMap((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1] ?? []);
}

/** The host's name servers a namespace of its own can reach through a user-mode stack: IPv4, not loopback. */
export function routableNameservers(resolvConf: string): string[] {
  return nameserversOf(resolvConf).filter((ns) => isIP(ns) === 4 && !ns.startsWith('127.'));
}

/** What a network mode says about names inside (driver.ts `names`). */
export interface NetworkNames {
  /** The sandbox's own address there, named by its hostname and name; absent: 127.0.1.1 stands in. */
  ownAddress?: string;
  /** The address that reaches the host from inside: host.containers.internal, `--add-host NAME:host-gateway`. */
  hostAddress?: string;
  /** The name servers when no `--dns` is given; absent: the host's lines, as they are. */
  nameservers?: readonly string[];
}

/** What sandboxNameFiles takes. */
export interface NameFilesInput {
  request: Pick<RunRequest, 'addHosts' | 'noHosts' | 'dns' | 'dnsSearch' | 'dnsOptions'>;
  hostname: string;
  /** The sandbox's name (after its hostname on its own line, as Podman). */
  name: string;
  network: NetworkNames;
  host: HostNameFiles;
  /** More lines for the sandbox's own part of /etc/hosts (a user-defined network's members and aliases). */
  more?: readonly HostEntry[];
}

/** Whether the sandbox gets our /etc/hosts and /etc/resolv.conf (`--no-hosts`, `--dns none`: the image's stay). */
export function ownNameFiles(request: Pick<RunRequest, 'noHosts' | 'dns'>): { hosts: boolean; resolvConf: boolean } {
  return { hosts: request.noHosts !== true, resolvConf: !request.dns?.includes('none') };
}

/** The sandbox's /etc/hosts and /etc/resolv.conf; undefined for one it does not get (ownNameFiles). */
export function sandboxNameFiles(input: NameFilesInput): { hosts?: string; resolvConf?: string } {
  const { request, network, host } = input;
  const own = ownNameFiles(request);
  const out: { hosts?: string; resolvConf?: string } = {};
  if (own.hosts) {
    const extra = (request.addHosts ?? []).map(parseAddHost).map((e) => {
      if (e.ip !== HOST_GATEWAY) return e;
      if (!network.hostAddress) {
        throw new SandboxError(`--add-host ${e.names.join(';')}:host-gateway: this network has no address that reaches the host`, {
          hint: 'give the host\'s address instead: --add-host NAME:IP',
        });
      }
      return { ...e, ip: network.hostAddress };
    });
    out.hosts = hostsFile({
      extra,
      base: host.hosts(),
      ...(network.hostAddress ? { hostAddress: network.hostAddress } : {}),
      own: [{ ip: network.ownAddress ?? NO_ADDRESS, names: [input.hostname, input.name] }, ...(input.more ?? [])],
    });
  }
  if (own.resolvConf) {
    const search = request.dnsSearch?.length ? request.dnsSearch.filter((d) => d !== '.') : undefined;
    const nameservers = request.dns?.length ? request.dns : network.nameservers;
    out.resolvConf = resolvConfFile(host.resolvConf(), {
      ...(nameservers ? { nameservers } : {}),
      ...(search ? { search } : {}),
      ...(request.dnsOptions?.length ? { options: request.dnsOptions } : {}),
    });
  }
  return out;
}

/** An /etc/hosts line: an address and the names it answers to. */
export interface HostEntry {
  ip: string;
  names: string[];
}

const NETWORK_HOSTS_BEGIN = '# sandbox networks: the members of this sandbox\'s networks';
const NETWORK_HOSTS_END = '# end of sandbox networks';

/**
 * `hosts` with its block of network members replaced by `entries` (user-defined
 * networks, state/networks.ts: each member's names and aliases). The block is ours
 * alone, so that it can be rewritten in place while the sandbox runs without touching
 * the lines around it.
 */
export function withNetworkHosts(hosts: string, entries: readonly HostEntry[]): string {
  const lines = hosts.replace(/\n*$/, '').split('\n');
  const begin = lines.indexOf(NETWORK_HOSTS_BEGIN);
  const end = begin >= 0 ? lines.indexOf(NETWORK_HOSTS_END, begin) : -1;
  const kept = begin >= 0 ? [...lines.slice(0, begin), ...(end >= 0 ? lines.slice(end + 1) : [])] : lines;
  const block = entries.length
    ? [NETWORK_HOSTS_BEGIN, ...entries.map((e) => `${e.ip}\t${e.names.join(' ')}`), NETWORK_HOSTS_END]
    : [];
  return [...kept, ...block, ''].join('\n');
}
