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
