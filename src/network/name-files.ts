/**
 * A sandbox's /etc/hosts and /etc/resolv.conf: pure text built from the host's, which
 * each network driver turns into its own (driver.ts, nameFiles), and the host's files
 * read for them.
 */
import { readFileSync } from 'node:fs';

/** The host's files a driver may start from, read only when it asks. */
export interface HostNameFiles {
  resolvConf(): string;
  hosts(): string;
}

/** The host's own /etc/resolv.conf (empty when it has none) and /etc/hosts. */
export const hostNameFiles: HostNameFiles = {
  resolvConf: () => {
    try { return readFileSync('/etc/resolv.conf', 'utf8'); } catch { return ''; }
  },
  hosts: () => readFileSync('/etc/hosts', 'utf8'),
};

/** /etc/hosts for a sandbox: localhost and its own name (after the host's lines when given). */
export function hostsFile(hostname: string, hostHosts?: string): string {
  if (hostHosts !== undefined) return `${hostHosts.replace(/\n*$/, '\n')}127.0.1.1\t${hostname}\n`;
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}

/**
 * The host's resolv.conf with `nameservers` in place of its own: the host's name servers
 * (often on its loopback) cannot be reached from a network namespace of its own; its
 * search domains and options still apply.
 */
export function resolvConfWith(host: string, nameservers: readonly string[]): string {
  const kept = host.split('\n').filter((l) => !/^\s*nameserver\s/.test(l));
  return [...nameservers.map((ns) => `nameserver ${ns}`), ...kept].join('\n');
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
