/**
 * `--add-host`, `--no-hosts`, `--dns`, `--dns-search`, `--dns-option` of run and create:
 * checked here (each value by network/name-files.ts, which also reads them at launch)
 * and kept in the request as given, so that inspect shows them as Podman does.
 */
import { SandboxError } from '../errors.js';
import type { RunRequest } from '../types.js';
import { checkDns, checkDnsOptions, checkDnsSearch, parseAddHost } from '../network/name-files.js';

export interface NameArgs {
  addHost?: string[];
  noHosts?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
}

type NameFields = Pick<RunRequest, 'addHosts' | 'noHosts' | 'dns' | 'dnsSearch' | 'dnsOptions'>;

const strings = (v: unknown): string[] => (v === undefined || v === null ? [] : (Array.isArray(v) ? v : [v]).map(String));

/** The name options of a run, checked; only those given are set. */
export function parseNameArgs(args: NameArgs): NameFields {
  const out: NameFields = {};
  const addHosts = strings(args.addHost);
  for (const h of addHosts) parseAddHost(h);
  if (args.noHosts === true) {
    if (addHosts.length) {
      throw new SandboxError('--no-hosts and --add-host cannot be combined', {
        hint: '--no-hosts keeps the image\'s /etc/hosts untouched; leave it out to get the --add-host lines',
      });
    }
    out.noHosts = true;
  }
  if (addHosts.length) out.addHosts = addHosts;
  const dns = strings(args.dns);
  if (dns.length) out.dns = checkDns(dns);
  const search = strings(args.dnsSearch);
  if (search.length) out.dnsSearch = checkDnsSearch(search);
  const options = strings(args.dnsOption);
  if (options.length) out.dnsOptions = checkDnsOptions(options);
  return out;
}
