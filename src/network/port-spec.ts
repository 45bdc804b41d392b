/**
 * Published ports as plain data: `-p/--publish` and `--expose` parsed the way Podman
 * takes them, and the published ports rendered the way Podman shows them (ps's PORTS,
 * `port`, inspect's NetworkSettings.Ports and HostConfig.PortBindings). Pure. The ports
 * are served by helpers/launch/ports.c (or by pasta itself); a host port left to us is
 * chosen when the sandbox is created (free-ports.ts), so restarts keep it.
 */
import { SandboxError } from '../errors.js';
import type { PortMapping } from '../types.js';

export type PortProtocol = PortMapping['protocol'];

/** 4 or 6 for an IPv4 or IPv6 address, else 0 (node:net's isIP, without loading node:net on run's path). */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text)) return 4;
  let rest = text;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (v4) {
    if (ipVersion(v4[1]!) !== 4) return 0;
    rest = rest.slice(0, v4.index + 1) + '0:0';
  }
  const halves = rest.split('::');
  if (halves.length > 2) return 0;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  const count = parts.reduce((n, p) => n + p.length, 0);
  if (!parts.every((p) => p.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)))) return 0;
  if (halves.length === 2 ? count >= 8 : count !== 8) return 0;
  return 6;
}

const PUBLISH_HINT = 'use -p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp], e.g. -p 8080:80, -p 127.0.0.1:8080:80/udp, -p [::1]:8080:80, -p 8000-8003:80-83 or -p 80 (a free host port)';
const EXPOSE_HINT = 'use --expose PORT[-PORT][/tcp|/udp], e.g. --expose 80 or --expose 5353/udp';

/** `80`, `8000-8003`: first and count; `what` names the part in messages. */
function portRange(text: string, what: string, fail: (why: string) => SandboxError): { first: number; count: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw fail(`${what} ${JSON.stringify(text)} is not a port number or range`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  for (const p of [first, last]) if (p < 1 || p > 65535) throw fail(`${what} ${p} is not between 1 and 65535`);
  if (last < first) throw fail(`${what} range ${text} ends before it starts`);
  return { first, count: last - first + 1 };
}

/** `tcp` (the default) or `udp`, one per option as Podman 4 takes them; sctp cannot be forwarded here. */
function protocols(text: string | undefined, fail: (why: string) => SandboxError): PortProtocol[] {
  if (text === undefined) return ['tcp'];
  const p = text.toLowerCase();
  if (p === 'sctp') throw fail('sctp ports cannot be published by a rootless sandbox (user-mode forwarding carries tcp and udp)');
  if (p.includes(',')) throw fail('one protocol per option: repeat it for tcp and udp (-p 53:53/tcp -p 53:53/udp)');
  if (p !== 'tcp' && p !== 'udp') throw fail(`unknown protocol ${JSON.stringify(text)} (tcp or udp)`);
  return [p];
}

/**
 * One `-p` value as mappings, one per port and protocol (a range is one mapping per port);
 * hostPort 0 where the host port is ours to choose. Podman's rules: a host range needs a
 * container range of the same length; without a host port every container port gets one
 * of its own.
 */
export function parsePublish(spec: string): PortMapping[] {
  const fail = (why: string) => new SandboxError(`invalid -p ${JSON.stringify(spec)}: ${why}`, { hint: PUBLISH_HINT });
  if (spec.trim() === '') throw fail('empty');
  const slash = spec.lastIndexOf('/');
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const protos = protocols(slash < 0 ? undefined : spec.slice(slash + 1), fail);
  let hostIp = '';
  let rest = body;
  if (body.startsWith('[')) {
    // [IPv6]:HOSTPORT:CONTAINERPORT or [IPv6]::CONTAINERPORT
    const close = body.indexOf(']');
    if (close < 0) throw fail('an IPv6 address opened with "[" is not closed with "]"');
    hostIp = body.slice(1, close);
    if (ipVersion(hostIp) !== 6) throw fail(`${JSON.stringify(hostIp)} is not an IPv6 address`);
    if (body[close + 1] !== ':') throw fail(`the host address must be followed by ":HOSTPORT:CONTAINERPORT"`);
    rest = body.slice(close + 2);
    if (!rest.includes(':')) throw fail('an address needs a host port (or an empty one) and a container port: [IP]:[HOSTPORT]:CONTAINERPORT');
  }
  const parts = rest.split(':');
  if (parts.length > 3 || (hostIp && parts.length !== 2)) throw fail('too many ":" (an IPv6 address goes in brackets: [::1]:8080:80)');
  let hostPart = '';
  if (parts.length === 3) {
    hostIp = parts[0]!;
    if (hostIp === '') throw fail('empty host address (leave out "IP:" to publish on every address)');
    if (ipVersion(hostIp) === 0) throw fail(`${JSON.stringify(hostIp)} is not an IP address`);
    if (ipVersion(hostIp) === 6) throw fail('an IPv6 address goes in brackets: [::1]:8080:80');
    hostPart = parts[1]!;
  } else if (parts.length === 2) {
    hostPart = parts[0]!;
    if (!hostIp && hostPart === '') throw fail('empty host port (give one, or only the container port for a free one)');
  }
  const containerPart = parts[parts.length - 1]!;
  if (containerPart === '') throw fail('no container port');
  const container = portRange(containerPart, 'container port', fail);
  let host = { first: 0, count: container.count };
  if (hostPart !== '') {
    host = portRange(hostPart, 'host port', fail);
    if (host.count !== container.count) throw fail(`the host and container port ranges have different lengths: ${host.count} vs ${container.count}`);
  }
  if (hostIp === '0.0.0.0') hostIp = ''; // every address, as when none is given
  const out: PortMapping[] = [];
  for (const protocol of protos) {
    for (let i = 0; i < container.count; i++) {
      out.push({ hostIp, hostPort: host.first ? host.first + i : 0, containerPort: container.first + i, protocol });
    }
  }
  return out;
}

/** Every `-p` of a run, checked together: a host port given twice (same address and protocol) is refused. */
export function parsePublishes(specs: readonly string[]): PortMapping[] {
  const out = specs.flatMap(parsePublish);
  const seen = new Map<string, string>();
  for (const m of out) {
    if (!m.hostPort) continue;
    const key = `${m.hostIp}|${m.hostPort}|${m.protocol}`;
    if (seen.has(key)) {
      throw new SandboxError(`host port ${m.hostPort}/${m.protocol} is published twice`, { hint: 'give each host port once (two container ports need two host ports)' });
    }
    seen.set(key, key);
  }
  return out;
}

/** One `--expose` value as `PORT/PROTO` keys (Docker's ExposedPorts). */
export function parseExpose(spec: string): string[] {
  const fail = (why: string) => new SandboxError(`invalid --expose ${JSON.stringify(spec)}: ${why}`, { hint: EXPOSE_HINT });
  const slash = spec.indexOf('/');
  const range = portRange(slash < 0 ? spec : spec.slice(0, slash), 'port', fail);
  const protos = protocols(slash < 0 ? undefined : spec.slice(slash + 1), fail);
  const out: string[] = [];
  for (const p of protos) for (let i = 0; i < range.count; i++) out.push(`${range.first + i}/${p}`);
  return out;
}

/** `80/tcp` keys (an image's ExposedPorts, --expose) as port and protocol; others (sctp, junk) are left out. */
export function exposedPorts(keys: readonly string[]): { containerPort: number; protocol: PortProtocol }[] {
  const out: { containerPort: number; protocol: PortProtocol }[] = [];
  for (const key of keys) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/i.exec(key.trim());
    if (!m) continue;
    const containerPort = Number(m[1]);
    const protocol = (m[2]?.toLowerCase() ?? 'tcp') as PortProtocol;
    if (containerPort < 1 || containerPort > 65535) continue;
    if (!out.some((e) => e.containerPort === containerPort && e.protocol === protocol)) out.push({ containerPort, protocol });
  }
  return out;
}

/**
 * `-P`: each exposed port not published already (same container port and protocol) gets
 * a mapping with a host port of ours to choose (0), as Podman does.
 */
export function publishAllExposed(ports: readonly PortMapping[], exposed: readonly string[]): PortMapping[] {
  const extra = exposedPorts(exposed)
    .filter((e) => !ports.some((p) => p.containerPort === e.containerPort && p.protocol === e.protocol))
    .map((e) => ({ hostIp: '', hostPort: 0, containerPort: e.containerPort, protocol: e.protocol }));
  return [...ports, ...extra];
}

/** The host side as Podman prints it: `0.0.0.0` for every address, an IPv6 one bare (`::1:8080`). */
export function hostAddress(m: Pick<PortMapping, 'hostIp' | 'hostPort'>): string {
  return `${m.hostIp === '' ? '0.0.0.0' : m.hostIp}:${m.hostPort}`;
}

/** The mappings in the order Podman keeps them: every address first, then by address as first given; by host port within one. */
export function orderedPorts(ports: readonly PortMapping[]): PortMapping[] {
  const ips = [...new Set(['', ...ports.map((m) => m.hostIp)])];
  return [...ports].sort((a, b) => ips.indexOf(a.hostIp) - ips.indexOf(b.hostIp) || a.hostPort - b.hostPort || a.protocol.localeCompare(b.protocol));
}

/**
 * ps's PORTS: `0.0.0.0:8080->80/tcp, ...`, consecutive ports of one address and protocol
 * collapsed into a range (`0.0.0.0:8000-8003->80-83/tcp`), as Podman shows them.
 */
export function formatPortsColumn(ports: readonly PortMapping[]): string {
  const groups: { m: PortMapping; n: number }[] = [];
  for (const m of orderedPorts(ports)) {
    const g = groups[groups.length - 1];
    if (g && g.m.hostIp === m.hostIp && g.m.protocol === m.protocol && m.hostPort === g.m.hostPort + g.n && m.containerPort === g.m.containerPort + g.n) g.n++;
    else groups.push({ m, n: 1 });
  }
  return groups.map(({ m, n }) => {
    const range = (first: number) => (n > 1 ? `${first}-${first + n - 1}` : `${first}`);
    return `${m.hostIp === '' ? '0.0.0.0' : m.hostIp}:${range(m.hostPort)}->${range(m.containerPort)}/${m.protocol}`;
  }).join(', ');
}

/** `PORT[/PROTO]` of `sandbox port NAME PORT`: the container port and protocol (tcp when none is given). */
export function parsePortQuery(text: string): { containerPort: number; protocol: PortProtocol } {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(text);
  const port = m ? Number(m[1]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new SandboxError(`invalid port ${JSON.stringify(text)}`, { hint: 'give a container port: PORT or PORT/tcp|udp, e.g. 80 or 53/udp' });
  }
  return { containerPort: port, protocol: (m[2]?.toLowerCase() ?? 'tcp') as PortProtocol };
}

/**
 * What `sandbox port` prints: with a query, the host addresses of that container port,
 * one a line (`0.0.0.0:8080`); without, every mapping (`80/tcp -> 0.0.0.0:8080`).
 */
export function formatPortLines(ports: readonly PortMapping[], query?: { containerPort: number; protocol: PortProtocol }): string[] {
  const ordered = orderedPorts(ports);
  if (query) return ordered.filter((m) => m.containerPort === query.containerPort && m.protocol === query.protocol).map(hostAddress);
  return ordered.map((m) => `${m.containerPort}/${m.protocol} -> ${hostAddress(m)}`);
}

/** inspect's `NetworkSettings.Ports` and `HostConfig.PortBindings` (Docker's shape): `{"80/tcp": [{HostIp, HostPort}]}`. */
export function portBindings(ports: readonly PortMapping[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of orderedPorts(ports)) (out[`${m.containerPort}/${m.protocol}`] ??= []).push({ HostIp: m.hostIp, HostPort: String(m.hostPort) });
  // Keys in Go's JSON order (sorted as strings), as Podman prints them.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The words of the launch plan's `--publish` for each mapping (helpers/launch/ports.c). */
export function publishWords(flag: string, ports: readonly PortMapping[]): string[] {
  return ports.flatMap((m) => [flag, m.protocol, m.hostIp, String(m.hostPort), String(m.containerPort)]);
}
