/**
 * `--network pasta[:OPTS]`: a network namespace of its own, connected to the host's by
 * pasta (passt's namespace mode). pasta copies the host's addresses and routes into the
 * sandbox, and, unlike slirp4netns, keeps the source address of a connection from the
 * host and forwards published ports itself (no forwarder of ours in between).
 *
 * The monitor runs it (network.c, start_pasta) as `pasta -f -l /dev/null -P FIFO
 * <our words> PID`; our words are Podman's defaults, then the user's OPTS (pasta's own
 * options, split at commas as Podman takes them):
 *   --config-net          pasta configures the interface, address and routes inside;
 *   --no-map-gw           the host's loopback stays closed (pasta would otherwise map the
 *                         gateway's address to the host's 127.0.0.1); `pasta:--map-gw`
 *                         (Podman's word; pasta has no such option) opens it;
 *   -t none -u none       no port of the host forwarded in, unless published (-p) or
 *                         given in OPTS (pasta's default would be every bound port);
 *   -T none -U none       no port of the sandbox's loopback forwarded out to the host's
 *                         loopback, unless given in OPTS (`pasta:-T,8080` opens one);
 *   --dns-forward ADDR    DNS queries to ADDR (169.254.1.1) go to the host's resolver,
 *                         which may be on the host's loopback; /etc/resolv.conf names it.
 */
import { posix } from 'node:path';
import { SandboxError, clipped } from '../errors.js';
import { Flag } from '../runtime/protocol.js';
import type { PortMapping, RunRequest } from '../types.js';
import type { NetworkDriver } from './driver.js';
import { readFileSync } from 'node:fs';

/** Where pasta answers DNS queries inside (as Podman 5 does), unless OPTS name another. */
export const PASTA_DNS_FORWARD = '169.254.1.1';

/** Podman's own word in pasta's OPTS: undo our --no-map-gw. */
const MAP_GW = '--map-gw';

/** Options of pasta that would take its set-up out of our hands (its pid file, namespaces, logs, fds). */
const RESERVED: Record<string, string> = {
  '-P': 'its pid file is how the sandbox knows pasta is ready',
  '--pid': 'its pid file is how the sandbox knows pasta is ready',
  '-l': 'its messages go to network.log of the sandbox',
  '--log-file': 'its messages go to network.log of the sandbox',
  '--netns': 'pasta joins the sandbox\'s own namespaces',
  '--userns': 'pasta joins the sandbox\'s own namespaces',
  '--netns-only': 'pasta joins the sandbox\'s own namespaces',
  '-F': 'pasta makes its own tap device',
  '--fd': 'pasta makes its own tap device',
  '-h': 'it only prints pasta\'s usage',
  '--help': 'it only prints pasta\'s usage',
  '--version': 'it only prints pasta\'s version',
};

/** The option word of `word` (`--pid=x` -> `--pid`), if it is one. */
function optionName(word: string): string | undefined {
  if (!word.startsWith('-')) return undefined;
  return word.startsWith('--') ? word.split('=')[0] : word.slice(0, 2);
}

/** `pasta:OPTS` checked when the request is made: options that would take pasta out of our hands are refused. */
export function checkPastaOptions(options: readonly string[]): void {
  for (const word of options) {
    const name = optionName(word);
    const why = name !== undefined ? RESERVED[name] : undefined;
    if (why) {
      throw new SandboxError(`--network pasta: option ${JSON.stringify(clipped(word))} cannot be given: ${why}`, {
        hint: 'leave it out; pasta\'s other options are taken as given (e.g. pasta:-T,8080 or pasta:--map-gw)',
      });
    }
    if (word === '') throw new SandboxError('--network pasta: an empty option', { hint: 'separate pasta\'s options with single commas, e.g. pasta:-T,8080' });
  }
}

/** Whether OPTS give any of `names` (`-t`, `--tcp-ports`, `-t5201`, `--tcp-ports=...`). */
function gives(options: readonly string[], short: string, long: string): boolean {
  return options.some((w) => w === long || w.startsWith(`${long}=`) || w.startsWith(short));
}

/** pasta's -t/-u words for published ports: `[ADDR/]HOSTPORT:CONTAINERPORT`, one per port. Pure. */
export function pastaPortArgs(ports: readonly PortMapping[]): string[] {
  return ports.flatMap((p) => [
    p.protocol === 'udp' ? '-u' : '-t',
    `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`,
  ]);
}

/** pasta's options for a sandbox: our defaults (see the top), the ports, then OPTS. Pure. */
export function pastaArgs(options: readonly string[], ports: readonly PortMapping[] = []): string[] {
  // What we give ourselves is not given twice; --map-gw is ours to read, not pasta's.
  const user = options.filter((w) => w !== MAP_GW && w !== '--config-net' && w !== '--no-map-gw');
  const args = ['--config-net'];
  if (!options.includes(MAP_GW)) args.push('--no-map-gw');
  const tcp = ports.some((p) => p.protocol === 'tcp') || gives(user, '-t', '--tcp-ports');
  const udp = ports.some((p) => p.protocol === 'udp') || gives(user, '-u', '--udp-ports');
  if (!tcp) args.push('-t', 'none');
  if (!udp) args.push('-u', 'none');
  if (!gives(user, '-T', '--tcp-ns')) args.push('-T', 'none');
  if (!gives(user, '-U', '--udp-ns')) args.push('-U', 'none');
  if (!user.some((w) => w === '--dns-forward' || w.startsWith('--dns-forward='))) args.push('--dns-forward', PASTA_DNS_FORWARD);
  return [...args, ...pastaPortArgs(ports), ...user];
}

/** The address pasta answers DNS on inside: the first --dns-forward of OPTS, else ours. */
export function pastaDnsForward(options: readonly string[]): string {
  for (let i = 0; i < options.length; i++) {
    const w = options[i]!;
    if (w.startsWith('--dns-forward=')) return w.slice('--dns-forward='.length);
    if (w === '--dns-forward' && options[i + 1]) return options[i + 1]!;
  }
  return PASTA_DNS_FORWARD;
}

/** The host's IPv4 default gateway (/proc/net/route), which pasta gives the sandbox too; '' when it has none. */
export function hostDefaultGateway(): string {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [, dest, gw] = line.trim().split(/\s+/);
      if (dest === '00000000' && gw && gw !== '00000000') {
        const n = parseInt(gw, 16); // little-endian
        return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
      }
    }
  } catch { /* no /proc/net/route: no gateway */ }
  return '';
}

export const pastaDriver: NetworkDriver = {
  mode: 'pasta',
  launchDriver: 'pasta',
  tools: [{ name: 'pasta', debianPackage: 'passt', why: 'for --network pasta; --network slirp4netns, none or host work without it' }],
  checkOptions: checkPastaOptions,
  launchArgs: ({ request, tools, dir }) => {
    const path = tools.pasta;
    if (!path) throw new SandboxError('internal: pasta path missing from the launch input');
    const words = pastaArgs(request.networkOptions ?? [], request.ports ?? []);
    return [Flag.networkCmd, path, Flag.netLog, posix.join(dir, 'network.log'), ...words.flatMap((w) => [Flag.networkArg, w])];
  },
  // The sandbox has the host's own address (pasta copies it), so 127.0.1.1 stands in for
  // it in /etc/hosts; the host is reachable only through the gateway that --map-gw maps.
  names: ({ request }) => {
    const options = request.networkOptions ?? [];
    const gateway = options.includes(MAP_GW) ? hostDefaultGateway() : undefined;
    return { nameservers: [pastaDnsForward(options)], ...(gateway ? { hostAddress: gateway } : {}) };
  },
  inspectMode: () => 'pasta',
};
